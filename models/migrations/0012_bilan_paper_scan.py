"""The paper path (issue 16, part 2): how a completed bilan was signed, and the scan of a sheet signed on paper.
New nullable columns on `company_bilan` only: existing bilans keep a null mode (completed before the mode existed:
in the application)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.bilans import SignatureMode


class Migration(migrations.Migration):
    dependencies = [("models", "0011_trainer_seen")]

    initial = False

    operations = [
        ops.AddField(
            model_name="CompanyBilan",
            name="signature_mode",
            field=fields.CharEnumField(SignatureMode, max_length=10, null=True),
        ),
        ops.AddField(
            model_name="CompanyBilan",
            name="scan_stored_name",
            field=fields.CharField(max_length=64, null=True, unique=True),
        ),
        ops.AddField(model_name="CompanyBilan", name="scan_filename", field=fields.CharField(max_length=255, null=True)),
        ops.AddField(
            model_name="CompanyBilan", name="scan_content_type", field=fields.CharField(max_length=100, null=True)
        ),
        ops.AddField(model_name="CompanyBilan", name="scan_size", field=fields.BigIntField(null=True)),
    ]
