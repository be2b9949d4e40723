__version__ = "0.1.0"
API_VERSION = "2025-08-27.basil"
