"""The one seedable source of randomness for the simulator.

Ids, fake names and addresses, fault choices and shuffles all draw from a ``SeededRandom``
so that a run with the same seed and the same requests produces the same objects and the
same delivery faults.
"""
from __future__ import annotations

import random
import string
import threading
from typing import Optional, Sequence, TypeVar

T = TypeVar("T")

ALPHANUMERIC = string.ascii_letters + string.digits


class SeededRandom:
    """A thread-safe ``random.Random`` with the helpers the simulator needs."""

    def __init__(self, seed: Optional[int] = None):
        self._lock = threading.Lock()
        self.seed = seed
        self._random = random.Random(seed)
        self._faker = None

    def reseed(self, seed: Optional[int]) -> None:
        with self._lock:
            self.seed = seed
            self._random.seed(seed)
            if self._faker is not None:
                self._faker.seed_instance(self._random.getrandbits(32))

    def token(self, length: int, alphabet: str = ALPHANUMERIC) -> str:
        with self._lock:
            return "".join(self._random.choice(alphabet) for _ in range(length))

    def new_id(self, prefix: str, length: int = 24) -> str:
        """A Stripe-looking id such as ``pi_3S7LBkDpld3oaqFN4tRfHTuB``."""
        return "%s_%s" % (prefix, self.token(length))

    def randint(self, a: int, b: int) -> int:
        with self._lock:
            return self._random.randint(a, b)

    def random(self) -> float:
        with self._lock:
            return self._random.random()

    def choice(self, seq: Sequence[T]) -> T:
        with self._lock:
            return self._random.choice(seq)

    def shuffle(self, items: list) -> list:
        """Shuffle ``items`` in place and return it."""
        with self._lock:
            self._random.shuffle(items)
        return items

    def child(self) -> "SeededRandom":
        """An independent source derived from this one (for a component or a trigger)."""
        with self._lock:
            return SeededRandom(self._random.getrandbits(63))

    @property
    def faker(self):
        """A Faker instance seeded from this source (created on first use: Faker is slow to import)."""
        if self._faker is None:
            from faker import Faker

            fake = Faker("en_US")
            with self._lock:
                fake.seed_instance(self._random.getrandbits(32))
            self._faker = fake
        return self._faker
