"""The metadata schema. Alembic migrations under ``migrations/versions``
create exactly these tables; a test checks the two agree."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

UTCDateTime = sa.DateTime(timezone=True)

datasets = sa.Table(
    "datasets", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("archived", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

dataset_versions = sa.Table(
    "dataset_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("source_format", sa.String(16), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("artifact", sa.String(256), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("num_rows", sa.BigInteger, nullable=False),
    sa.Column("num_columns", sa.Integer, nullable=False),
    sa.Column("columns", sa.JSON, nullable=False),
    sa.Column("profile", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_dataset_version"),
    sa.Index("ix_dataset_versions_sha", "dataset_id", "sha256"),
)

experiments = sa.Table(
    "experiments", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("parent_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"),
              nullable=True, index=True),
    sa.Column("kind", sa.String(16), nullable=False),  # automl | trial | ensemble
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("display_name", sa.String(256), nullable=False, default=""),
    sa.Column("settings", sa.JSON, nullable=False),  # what was asked for
    sa.Column("params", sa.JSON, nullable=False),  # hyper-parameters of a trial
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("properties", sa.JSON, nullable=False),  # guardrails, leaderboard, explanation...
    sa.Column("score", sa.Float, nullable=True),  # the primary metric, for sorting
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("model_artifact", sa.String(256), nullable=True),
    sa.Column("model_sha256", sa.String(64), nullable=True),
    sa.Column("charts_artifact", sa.String(256), nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("worker", sa.String(128), nullable=True),  # host:pid of the process running it
    sa.Column("heartbeat_at", UTCDateTime, nullable=True),  # refreshed while a worker runs it
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("max_retries", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Index("ix_runs_experiment_created", "experiment_id", "created_at"),
    sa.Index("ix_runs_status_created", "status", "created_at"),
)

models = sa.Table(
    "models", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("task", sa.String(32), nullable=False),
    sa.Column("algorithm", sa.String(256), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=True),  # lineage: the run that trained it
    sa.Column("parent_run_id", sa.String(64), nullable=True),
    sa.Column("dataset", sa.String(128), nullable=True),
    sa.Column("dataset_version", sa.Integer, nullable=True),
    sa.Column("artifact", sa.String(256), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("signature", sa.JSON, nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_models_name_version"),
)

endpoints = sa.Table(
    "endpoints", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("model_version", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("desired_running", sa.Boolean, nullable=False),
    sa.Column("auth_mode", sa.String(8), nullable=False),
    sa.Column("host", sa.String(64), nullable=False),
    sa.Column("port", sa.Integer, nullable=False),
    sa.Column("workers", sa.Integer, nullable=False),
    sa.Column("monitoring", sa.Boolean, nullable=False),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("primary_key", sa.Text, nullable=True),  # encrypted with the workspace key
    sa.Column("secondary_key", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

identities = sa.Table(
    "identities", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uid", sa.String(32), nullable=False, unique=True),  # token subject; never reused
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("kind", sa.String(24), nullable=False),  # user | service_principal
    sa.Column("role", sa.String(16), nullable=False),  # owner | contributor | reader
    sa.Column("client_id", sa.String(64), nullable=True, unique=True),  # service principals
    sa.Column("secret_hash", sa.Text, nullable=False),  # argon2 of the password / client secret
    # Bumped when the secret or the role changes: tokens carrying an older one stop working.
    sa.Column("token_generation", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("last_login_at", UTCDateTime, nullable=True),
)

refresh_tokens = sa.Table(
    "refresh_tokens", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # sha256 of the token
    sa.Column("family", sa.String(32), nullable=False, index=True),  # one sign-in's chain
    sa.Column("identity_id", sa.Integer, sa.ForeignKey("identities.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime, nullable=True),  # rotated: presenting it again is theft
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)

login_failures = sa.Table(
    "login_failures", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("scope", sa.String(320), nullable=False),  # identity:<name> | address:<ip>
    sa.Column("failed_at", UTCDateTime, nullable=False),
    sa.Index("ix_login_failures_scope_failed_at", "scope", "failed_at"),
)

# The database's owner: one row naming the workspace it belongs to and that
# workspace's folder (artifacts, secrets, logs), so a database URL alone finds
# the workspace and a second folder cannot silently share the database.
workspace = sa.Table(
    "workspace", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1
    sa.Column("workspace_id", sa.String(32), nullable=False),
    sa.Column("root", sa.Text, nullable=False),  # absolute path of the folder
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("id = 1", name="one_row"),
)
