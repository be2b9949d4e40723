import pytest

from simulator.clock import Clock
from simulator.delivery import DeliveryEngine
from simulator.rng import SeededRandom
from tests.delivery.support import FakeBackend, Receiver


@pytest.fixture
def clock():
    # Frozen: only clock.advance() moves it, so retry schedules are stepped exactly.
    return Clock(time_scale=0)


@pytest.fixture
def backend(clock):
    return FakeBackend(clock)


@pytest.fixture
def make_engine(backend, clock):
    engines = []

    def make(**kw):
        kw.setdefault("workers", 4)
        eng = DeliveryEngine(backend, clock, SeededRandom(kw.pop("seed", 7)), **kw)
        engines.append(eng)
        return eng

    yield make
    for e in engines:
        e.stop()


@pytest.fixture
def engine(make_engine):
    return make_engine()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()
