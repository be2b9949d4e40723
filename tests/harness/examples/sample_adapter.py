"""A target adapter loaded by dotted path in the tests: the bundled receiver, seen through
an adapter that does not offer the fault hooks (so the recovery scenarios must skip)."""
from harness.adapters.reference import ReferenceTarget
from harness.engine import target as t


class NoHooksTarget(ReferenceTarget):
    def start(self):
        super().start()
        self.capabilities = self.capabilities - {t.FAULT_HOOKS, t.CRASH_HOOK, t.DELAY_HOOK}
        self.missing_reasons = dict(self.missing_reasons, **{
            cap: "the sample adapter offers no fault hooks" for cap in (t.FAULT_HOOKS, t.CRASH_HOOK, t.DELAY_HOOK)})
