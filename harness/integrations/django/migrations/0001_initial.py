from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="FaultCounter",
            fields=[
                ("name", models.CharField(max_length=16, primary_key=True, serialize=False)),
                ("remaining", models.IntegerField(default=0)),
                ("value", models.IntegerField(default=0)),
            ],
            options={"db_table": "posx_harness_faults"},
        ),
    ]
