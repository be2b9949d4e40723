import pytest

from .support import SECRET


@pytest.fixture
def posx_settings(settings, transactional_db):
    """Local PaymentIntents, the tests' secret, tasks run in-process on commit."""
    settings.MOCK_STRIPE = True
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.POSX_VARIANT = "correct"
    return settings
