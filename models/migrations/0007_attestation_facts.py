"""The facts the PFMP attestation prints: the school's address and head of school, the diploma a level prepares
(its name and year, `DiplomaYear`), the company's address and SIRET on the liaison fiche. All optional: rows
written before stay valid and print blanks."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.schools import DiplomaYear


class Migration(migrations.Migration):
    dependencies = [("models", "0006_data_stamps")]

    initial = False

    operations = [
        ops.AddField(model_name="School", name="address", field=fields.CharField(null=True, max_length=500)),
        ops.AddField(model_name="School", name="head_of_school", field=fields.CharField(null=True, max_length=200)),
        ops.AddField(model_name="Level", name="diploma_name", field=fields.CharField(null=True, max_length=200)),
        ops.AddField(
            model_name="Level",
            name="diploma_year",
            field=fields.CharEnumField(
                null=True,
                description="CAP_1: CAP_1\nCAP_2: CAP_2\nCAP_ONE_YEAR: CAP_ONE_YEAR\nBAC_PRO_SECONDE: BAC_PRO_SECONDE\n"
                "BAC_PRO_PREMIERE: BAC_PRO_PREMIERE\nBAC_PRO_TERMINALE: BAC_PRO_TERMINALE",
                enum_type=DiplomaYear,
                max_length=20,
            ),
        ),
        ops.AddField(model_name="LiaisonFiche", name="company_address", field=fields.CharField(null=True, max_length=500)),
        ops.AddField(model_name="LiaisonFiche", name="company_siret", field=fields.CharField(null=True, max_length=14)),
    ]
