from django.db import models


class FaultCounter(models.Model):
    """One armed fault: how many webhook calls it still takes, and its value (a status or ms).

    In the database so every server process sees the same counters: "fail the next 3
    calls" means 3 calls whichever worker takes them.
    """
    name = models.CharField(primary_key=True, max_length=16)
    remaining = models.IntegerField(default=0)
    value = models.IntegerField(default=0)

    class Meta:
        db_table = "posx_harness_faults"

    def __str__(self):
        return "%s x%d (%d)" % (self.name, self.remaining, self.value)
