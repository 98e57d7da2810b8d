//! The database schema, as an ordered list of scripts applied according to `PRAGMA user_version`.
//!
//! Invariant: scripts are only ever appended; a released script never changes.

use rusqlite::Connection;

use crate::convert::SqlResult;

/// Script `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: tenants, tokens, extension schemas, resources with their lookup indexes, emails,
    //    memberships, the change log.
    r#"
    CREATE TABLE tenants (
        id      TEXT PRIMARY KEY,
        name    TEXT NOT NULL UNIQUE,
        created INTEGER NOT NULL
    );

    CREATE TABLE tokens (
        id        TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id),
        name      TEXT NOT NULL,
        hash      BLOB NOT NULL UNIQUE,
        scopes    TEXT NOT NULL,
        created   INTEGER NOT NULL,
        expires   INTEGER,
        revoked   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX tokens_tenant ON tokens(tenant_id);

    CREATE TABLE extension_schemas (
        tenant_id TEXT NOT NULL REFERENCES tenants(id),
        uri       TEXT NOT NULL COLLATE NOCASE,
        json      TEXT NOT NULL,
        PRIMARY KEY (tenant_id, uri)
    );

    -- `body` is the SCIM JSON without id, meta, members and groups. The *_lc columns are
    -- lowercased copies for the case-insensitive (caseExact=false) attributes; `display` is what
    -- a member reference shows (displayName, else userName).
    CREATE TABLE resources (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id       TEXT NOT NULL REFERENCES tenants(id),
        kind            TEXT NOT NULL,
        id              TEXT NOT NULL,
        body            TEXT NOT NULL,
        user_name_lc    TEXT,
        external_id     TEXT,
        display_name_lc TEXT,
        display         TEXT,
        created         INTEGER NOT NULL,
        last_modified   INTEGER NOT NULL,
        version         INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX resources_id ON resources(tenant_id, kind, id);
    -- Index entries end with the rowid, so this also serves `ORDER BY seq` and `seq > ?`.
    CREATE INDEX resources_list ON resources(tenant_id, kind);
    CREATE UNIQUE INDEX resources_user_name ON resources(tenant_id, user_name_lc)
        WHERE kind = 'User';
    CREATE UNIQUE INDEX resources_group_display_name ON resources(tenant_id, display_name_lc)
        WHERE kind = 'Group';
    CREATE INDEX resources_user_display_name ON resources(tenant_id, display_name_lc)
        WHERE kind = 'User';
    CREATE INDEX resources_external_id ON resources(tenant_id, kind, external_id);

    CREATE TABLE emails (
        tenant_id    TEXT NOT NULL,
        resource_seq INTEGER NOT NULL REFERENCES resources(seq) ON DELETE CASCADE,
        value_lc     TEXT NOT NULL
    );
    CREATE INDEX emails_value ON emails(tenant_id, value_lc);
    CREATE INDEX emails_resource ON emails(resource_seq);

    -- One row per direct membership; rowid order is insertion order.
    CREATE TABLE memberships (
        tenant_id  TEXT NOT NULL,
        group_seq  INTEGER NOT NULL REFERENCES resources(seq) ON DELETE CASCADE,
        member_seq INTEGER NOT NULL REFERENCES resources(seq) ON DELETE CASCADE,
        PRIMARY KEY (group_seq, member_seq)
    );
    CREATE INDEX memberships_member ON memberships(member_seq);

    CREATE TABLE changes (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id   TEXT NOT NULL,
        kind        TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        op          TEXT NOT NULL,
        version     INTEGER NOT NULL,
        at          INTEGER NOT NULL
    );
    "#,
    // 2: outbound provisioning: apps, assignments, the engine's shadows, the provisioning log,
    //    leases. JSON columns are opaque to the store; timestamps are integer nanoseconds.
    r#"
    CREATE TABLE apps (
        id            TEXT PRIMARY KEY,
        tenant_id     TEXT NOT NULL,
        name          TEXT NOT NULL,
        enabled       INTEGER NOT NULL,
        spec          TEXT NOT NULL,
        sealed_secret BLOB,
        state         TEXT NOT NULL,
        created       INTEGER NOT NULL,
        updated       INTEGER NOT NULL,
        UNIQUE (tenant_id, name)
    );

    CREATE TABLE app_assignments (
        app_id      TEXT NOT NULL,
        kind        TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        PRIMARY KEY (app_id, kind, resource_id)
    ) WITHOUT ROWID;

    CREATE TABLE shadows (
        app_id     TEXT NOT NULL,
        kind       TEXT NOT NULL,
        source_id  TEXT NOT NULL,
        target_id  TEXT,
        state      TEXT NOT NULL,
        last_sent  TEXT NOT NULL,
        due        INTEGER,
        attempts   INTEGER NOT NULL,
        last_error TEXT,
        updated    INTEGER NOT NULL,
        PRIMARY KEY (app_id, kind, source_id)
    );
    CREATE INDEX shadows_due ON shadows(app_id, due) WHERE due IS NOT NULL;
    CREATE INDEX shadows_target ON shadows(app_id, kind, target_id);

    CREATE TABLE provisioning_log (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        app_id      TEXT NOT NULL,
        at          INTEGER NOT NULL,
        cycle_id    TEXT NOT NULL,
        change_id   TEXT NOT NULL,
        kind        TEXT NOT NULL,
        source_id   TEXT NOT NULL,
        target_id   TEXT,
        action      TEXT NOT NULL,
        status      TEXT NOT NULL,
        reason      TEXT NOT NULL,
        error_code  TEXT,
        duration_ms INTEGER NOT NULL,
        details     TEXT NOT NULL
    );
    CREATE INDEX provisioning_log_app ON provisioning_log(app_id, seq);
    CREATE INDEX provisioning_log_source ON provisioning_log(app_id, source_id, seq);

    CREATE TABLE app_leases (
        app_id TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        until  INTEGER NOT NULL
    );
    "#,
    // 3: dynamic groups (one rule per group, with the cursor of a recompute under way) and the
    //    enterprise employeeNumber as an indexed column (inbound matching, filters).
    r#"
    ALTER TABLE resources ADD COLUMN employee_number_lc TEXT;
    UPDATE resources SET employee_number_lc = lower(json_extract(body,
        '$."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".employeeNumber'))
        WHERE kind = 'User';
    CREATE INDEX resources_employee_number ON resources(tenant_id, employee_number_lc)
        WHERE kind = 'User' AND employee_number_lc IS NOT NULL;

    -- Changes whenever a rule of the tenant does (a random value, never reused), so that the
    -- compiled rules a writer caches are checked with one lookup.
    ALTER TABLE tenants ADD COLUMN rules_gen INTEGER NOT NULL DEFAULT 0;

    -- `cursor`: while the group's membership is being recomputed over all users, the seq of the
    -- last user evaluated; NULL when the membership is complete.
    CREATE TABLE dynamic_rules (
        group_seq INTEGER PRIMARY KEY REFERENCES resources(seq) ON DELETE CASCADE,
        tenant_id TEXT NOT NULL,
        rule      TEXT NOT NULL,
        cursor    INTEGER
    );
    CREATE INDEX dynamic_rules_tenant ON dynamic_rules(tenant_id);
    CREATE INDEX dynamic_rules_pending ON dynamic_rules(cursor) WHERE cursor IS NOT NULL;
    "#,
    // 4: inbound provisioning: staged bulkUpload requests (their records as one JSON array), the
    //    result of each processed record, and effective-dated actions per user.
    r#"
    CREATE TABLE inbound_requests (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        id        TEXT NOT NULL UNIQUE,
        tenant_id TEXT NOT NULL REFERENCES tenants(id),
        source    TEXT NOT NULL,
        received  INTEGER NOT NULL,
        records   TEXT NOT NULL,
        total     INTEGER NOT NULL,
        processed INTEGER NOT NULL DEFAULT 0,
        completed INTEGER
    );
    CREATE INDEX inbound_requests_tenant ON inbound_requests(tenant_id, seq);
    CREATE INDEX inbound_requests_pending ON inbound_requests(seq) WHERE completed IS NULL;

    CREATE TABLE inbound_records (
        request_seq INTEGER NOT NULL REFERENCES inbound_requests(seq) ON DELETE CASCADE,
        idx         INTEGER NOT NULL,
        bulk_id     TEXT,
        external_id TEXT,
        outcome     TEXT NOT NULL,
        user_id     TEXT,
        error       TEXT,
        PRIMARY KEY (request_seq, idx)
    ) WITHOUT ROWID;

    CREATE TABLE lifecycle (
        tenant_id TEXT NOT NULL,
        user_id   TEXT NOT NULL,
        action    TEXT NOT NULL,
        due       INTEGER NOT NULL,
        date      TEXT NOT NULL,
        source    TEXT NOT NULL,
        PRIMARY KEY (tenant_id, user_id, action)
    );
    CREATE INDEX lifecycle_due ON lifecycle(due);
    "#,
];

/// Brings the schema up to date, one transaction per script.
pub(crate) fn migrate(conn: &mut Connection) -> domain::Result<()> {
    let current: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .sql()?;
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if current > known {
        return Err(domain::Error::Internal(format!(
            "database schema version {current} is newer than this build knows ({known})"
        )));
    }
    for (version, script) in (1_i64..)
        .zip(MIGRATIONS.iter())
        .skip_while(|(v, _)| *v <= current)
    {
        let tx = conn.transaction().sql()?;
        tx.execute_batch(script).sql()?;
        tx.pragma_update(None, "user_version", version).sql()?;
        tx.commit().sql()?;
        tracing::info!(version, "applied SQLite schema migration");
    }
    Ok(())
}
