from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='ActivityFiche',
            index=Index(fields=['learner_id', 'portfolio_id']),
        ),
        ops.AddIndex(
            model_name='Annex',
            index=Index(fields=['fiche_id']),
        ),
        ops.AddIndex(
            model_name='BilanEvent',
            index=Index(fields=['bilan_id']),
        ),
        ops.AddIndex(
            model_name='InterimReview',
            index=Index(fields=['learner_id', 'review_date']),
        ),
        ops.AddIndex(
            model_name='Portfolio',
            index=Index(fields=['learner_id']),
        ),
        # A tutor's or master's row reach starts from their assignments (permissions/scopes.py); the through
        # table's unique index leads with the portfolio, so it needs one on the trainer. Not a model: raw SQL.
        ops.RunSQL(
            'CREATE INDEX IF NOT EXISTS "idx_portfolio_t_user_id" ON "portfolio_trainer" ("user_id")',
            reverse_sql='DROP INDEX IF EXISTS "idx_portfolio_t_user_id"',
        ),
    ]
