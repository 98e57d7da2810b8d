//! The database schema, as an ordered list of scripts; `schema_version` records how many ran.
//!
//! Invariant: scripts are only ever appended; a released script never changes.
//!
//! The tables mirror the SQLite store's (same columns, same integer-nanosecond timestamps), so
//! that `scimitar store copy` moves rows unchanged. Differences: identifiers and keys that are
//! ordered or compared use the "C" collation (byte order, as SQLite's), memberships keep their
//! insertion order in `pos` (SQLite uses the rowid), and the change log's sequence numbers come
//! from the one-row `change_head`, taken at commit (see `tx.rs`).

use deadpool_postgres::Object;

use crate::convert::PgResult;

/// Any two replicas starting at once migrate one after the other under this advisory lock.
const MIGRATION_LOCK: i64 = 0x5c1_3174;

/// Script `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: everything the SQLite store's scripts 1 to 4 hold.
    r#"
    CREATE TABLE tenants (
        id        TEXT COLLATE "C" PRIMARY KEY,
        name      TEXT COLLATE "C" NOT NULL UNIQUE,
        created   BIGINT NOT NULL,
        -- Changes whenever a rule of the tenant does (a random value, never reused), so that the
        -- compiled rules a writer caches are checked with one lookup.
        rules_gen BIGINT NOT NULL DEFAULT 0
    );

    CREATE TABLE tokens (
        id        TEXT COLLATE "C" PRIMARY KEY,
        tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
        name      TEXT NOT NULL,
        hash      BYTEA NOT NULL UNIQUE,
        scopes    TEXT NOT NULL,
        created   BIGINT NOT NULL,
        expires   BIGINT,
        revoked   BOOLEAN NOT NULL DEFAULT false
    );
    CREATE INDEX tokens_tenant ON tokens(tenant_id);

    -- `uri_lc` is the key (URNs compare case-insensitively); `uri` keeps the spelling.
    CREATE TABLE extension_schemas (
        tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
        uri_lc    TEXT COLLATE "C" NOT NULL,
        uri       TEXT COLLATE "C" NOT NULL,
        json      TEXT NOT NULL,
        PRIMARY KEY (tenant_id, uri_lc)
    );

    -- `body` is the SCIM JSON without id, meta, members and groups. The *_lc columns are
    -- lowercased copies for the case-insensitive (caseExact=false) attributes; `display` is what
    -- a member reference shows (displayName, else userName).
    CREATE TABLE resources (
        seq                BIGSERIAL PRIMARY KEY,
        tenant_id          TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
        kind               TEXT COLLATE "C" NOT NULL,
        id                 TEXT COLLATE "C" NOT NULL,
        body               TEXT NOT NULL,
        user_name_lc       TEXT COLLATE "C",
        external_id        TEXT COLLATE "C",
        display_name_lc    TEXT COLLATE "C",
        display            TEXT,
        employee_number_lc TEXT COLLATE "C",
        created            BIGINT NOT NULL,
        last_modified      BIGINT NOT NULL,
        version            BIGINT NOT NULL
    );
    CREATE UNIQUE INDEX resources_id ON resources(tenant_id, kind, id);
    CREATE INDEX resources_list ON resources(tenant_id, kind, seq);
    CREATE UNIQUE INDEX resources_user_name ON resources(tenant_id, user_name_lc)
        WHERE kind = 'User';
    CREATE UNIQUE INDEX resources_group_display_name ON resources(tenant_id, display_name_lc)
        WHERE kind = 'Group';
    CREATE INDEX resources_user_display_name ON resources(tenant_id, display_name_lc)
        WHERE kind = 'User';
    CREATE INDEX resources_external_id ON resources(tenant_id, kind, external_id);
    CREATE INDEX resources_employee_number ON resources(tenant_id, employee_number_lc)
        WHERE kind = 'User' AND employee_number_lc IS NOT NULL;

    -- `pos`: insertion order (SQLite's rowid), the key `scimitar store copy` pages by.
    CREATE TABLE emails (
        pos          BIGSERIAL PRIMARY KEY,
        tenant_id    TEXT COLLATE "C" NOT NULL,
        resource_seq BIGINT NOT NULL REFERENCES resources(seq) ON DELETE CASCADE,
        value_lc     TEXT COLLATE "C" NOT NULL
    );
    CREATE INDEX emails_value ON emails(tenant_id, value_lc);
    CREATE INDEX emails_resource ON emails(resource_seq);

    -- One row per direct membership; `pos` order is insertion order.
    CREATE TABLE memberships (
        tenant_id  TEXT COLLATE "C" NOT NULL,
        group_seq  BIGINT NOT NULL REFERENCES resources(seq) ON DELETE CASCADE,
        member_seq BIGINT NOT NULL REFERENCES resources(seq) ON DELETE CASCADE,
        pos        BIGSERIAL NOT NULL UNIQUE,
        PRIMARY KEY (group_seq, member_seq)
    );
    CREATE INDEX memberships_group_pos ON memberships(group_seq, pos);
    CREATE INDEX memberships_member ON memberships(member_seq);

    -- `seq` is given at commit from `change_head`, so sequence order is commit order: a reader
    -- that has seen seq n never later finds a change below n.
    CREATE TABLE changes (
        seq         BIGINT PRIMARY KEY,
        tenant_id   TEXT COLLATE "C" NOT NULL,
        kind        TEXT COLLATE "C" NOT NULL,
        resource_id TEXT COLLATE "C" NOT NULL,
        op          TEXT NOT NULL,
        version     BIGINT NOT NULL,
        at          BIGINT NOT NULL
    );
    CREATE TABLE change_head (
        one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
        seq BIGINT NOT NULL
    );
    INSERT INTO change_head (one, seq) VALUES (true, 0);

    -- `cursor`: while the group's membership is being recomputed over all users, the seq of the
    -- last user evaluated; NULL when the membership is complete.
    CREATE TABLE dynamic_rules (
        group_seq BIGINT PRIMARY KEY REFERENCES resources(seq) ON DELETE CASCADE,
        tenant_id TEXT COLLATE "C" NOT NULL,
        rule      TEXT NOT NULL,
        cursor    BIGINT
    );
    CREATE INDEX dynamic_rules_tenant ON dynamic_rules(tenant_id);
    CREATE INDEX dynamic_rules_pending ON dynamic_rules(cursor) WHERE cursor IS NOT NULL;

    -- Outbound provisioning. JSON columns are opaque to the store.
    CREATE TABLE apps (
        id            TEXT COLLATE "C" PRIMARY KEY,
        tenant_id     TEXT COLLATE "C" NOT NULL,
        name          TEXT COLLATE "C" NOT NULL,
        enabled       BOOLEAN NOT NULL,
        spec          TEXT NOT NULL,
        sealed_secret BYTEA,
        state         TEXT NOT NULL,
        created       BIGINT NOT NULL,
        updated       BIGINT NOT NULL,
        UNIQUE (tenant_id, name)
    );

    CREATE TABLE app_assignments (
        app_id      TEXT COLLATE "C" NOT NULL,
        kind        TEXT COLLATE "C" NOT NULL,
        resource_id TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (app_id, kind, resource_id)
    );

    CREATE TABLE shadows (
        app_id     TEXT COLLATE "C" NOT NULL,
        kind       TEXT COLLATE "C" NOT NULL,
        source_id  TEXT COLLATE "C" NOT NULL,
        target_id  TEXT COLLATE "C",
        state      TEXT NOT NULL,
        last_sent  TEXT NOT NULL,
        due        BIGINT,
        attempts   BIGINT NOT NULL,
        last_error TEXT,
        updated    BIGINT NOT NULL,
        PRIMARY KEY (app_id, kind, source_id)
    );
    CREATE INDEX shadows_due ON shadows(app_id, due) WHERE due IS NOT NULL;
    CREATE INDEX shadows_target ON shadows(app_id, kind, target_id);

    CREATE TABLE provisioning_log (
        seq         BIGSERIAL PRIMARY KEY,
        app_id      TEXT COLLATE "C" NOT NULL,
        at          BIGINT NOT NULL,
        cycle_id    TEXT NOT NULL,
        change_id   TEXT NOT NULL,
        kind        TEXT COLLATE "C" NOT NULL,
        source_id   TEXT COLLATE "C" NOT NULL,
        target_id   TEXT,
        action      TEXT NOT NULL,
        status      TEXT NOT NULL,
        reason      TEXT NOT NULL,
        error_code  TEXT,
        duration_ms BIGINT NOT NULL,
        details     TEXT NOT NULL
    );
    CREATE INDEX provisioning_log_app ON provisioning_log(app_id, seq);
    CREATE INDEX provisioning_log_source ON provisioning_log(app_id, source_id, seq);

    -- One worker per app across replicas: taken with SELECT … FOR UPDATE SKIP LOCKED.
    CREATE TABLE app_leases (
        app_id TEXT COLLATE "C" PRIMARY KEY,
        holder TEXT NOT NULL,
        until  BIGINT NOT NULL
    );

    -- Inbound provisioning: staged bulkUpload requests (their records as one JSON array), the
    -- result of each processed record, and effective-dated actions per user.
    CREATE TABLE inbound_requests (
        seq       BIGSERIAL PRIMARY KEY,
        id        TEXT COLLATE "C" NOT NULL UNIQUE,
        tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
        source    TEXT NOT NULL,
        received  BIGINT NOT NULL,
        records   TEXT NOT NULL,
        total     BIGINT NOT NULL,
        processed BIGINT NOT NULL DEFAULT 0,
        completed BIGINT
    );
    CREATE INDEX inbound_requests_tenant ON inbound_requests(tenant_id, seq);
    CREATE INDEX inbound_requests_pending ON inbound_requests(seq) WHERE completed IS NULL;

    CREATE TABLE inbound_records (
        request_seq BIGINT NOT NULL REFERENCES inbound_requests(seq) ON DELETE CASCADE,
        idx         BIGINT NOT NULL,
        bulk_id     TEXT,
        external_id TEXT,
        outcome     TEXT NOT NULL,
        user_id     TEXT,
        error       TEXT,
        PRIMARY KEY (request_seq, idx)
    );

    CREATE TABLE lifecycle (
        tenant_id TEXT COLLATE "C" NOT NULL,
        user_id   TEXT COLLATE "C" NOT NULL,
        action    TEXT COLLATE "C" NOT NULL,
        due       BIGINT NOT NULL,
        date      TEXT NOT NULL,
        source    TEXT NOT NULL,
        PRIMARY KEY (tenant_id, user_id, action)
    );
    CREATE INDEX lifecycle_due ON lifecycle(due);
    "#,
];

/// The schema version this build writes.
pub(crate) fn latest() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Brings the schema up to date, one transaction per script, under an advisory lock so that
/// replicas starting together do not race. Returns the scripts applied.
pub(crate) async fn migrate(client: &mut Object) -> domain::Result<usize> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .pg()?;
    let applied = apply(client).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await
        .pg();
    let applied = applied?;
    unlocked?;
    Ok(applied)
}

async fn apply(client: &mut Object) -> domain::Result<usize> {
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .await
        .pg()?;
    let current: i64 = client
        .query_opt("SELECT max(version) FROM schema_version", &[])
        .await
        .pg()?
        .and_then(|row| row.get::<_, Option<i64>>(0))
        .unwrap_or(0);
    let known = latest();
    if current > known {
        return Err(domain::Error::Internal(format!(
            "database schema version {current} is newer than this build knows ({known})"
        )));
    }
    let mut applied = 0;
    for (version, script) in (1_i64..)
        .zip(MIGRATIONS.iter())
        .skip_while(|(v, _)| *v <= current)
    {
        let tx = client.transaction().await.pg()?;
        tx.batch_execute(script).await.pg()?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&version],
        )
        .await
        .pg()?;
        tx.commit().await.pg()?;
        tracing::info!(version, "applied PostgreSQL schema migration");
        applied += 1;
    }
    Ok(applied)
}
