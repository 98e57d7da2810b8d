//! The store test suite, written once against `Arc<dyn Store>` and instantiated by every backend
//! (STYLE 16): a backend's test binary calls [`store_suite!`] with an async function that gives a
//! fresh store (its own database) and a guard that removes it, or `None` when the backend cannot
//! be reached on this machine.

// Test code: a panic is how a test fails (STYLE 8).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod changes;
pub mod dynamic;
pub mod inbound;
pub mod members;
pub mod pg;
pub mod provisioning;
pub mod query;
pub mod resources;
pub mod support;
pub mod tenancy;

/// One `#[tokio::test]` per generic suite test, each on a fresh store from `$factory`, an async
/// function returning `Option<(Arc<dyn Store>, Guard)>`; the guard lives until the test ends.
#[macro_export]
macro_rules! store_suite {
    ($factory:path) => {
        $crate::store_suite!(@tests $factory;
            dynamic::membership_follows_user_writes,
            dynamic::membership_changes_reach_the_change_log,
            dynamic::a_new_rule_is_recomputed_in_steps,
            dynamic::removing_the_rule_or_the_group,
            dynamic::rules_stay_in_their_tenant,
            dynamic::employee_number_lookup,
            resources::user_round_trip,
            resources::group_round_trip,
            resources::replace_round_trip,
            resources::delete_round_trip,
            resources::missing_resources_are_not_found,
            resources::versions_are_checked,
            resources::a_write_that_changes_nothing_keeps_the_version,
            resources::user_name_is_unique_case_insensitively,
            resources::group_display_name_is_unique_case_insensitively,
            resources::kind_is_part_of_identity,
            tenancy::tenants,
            tenancy::tokens,
            tenancy::extension_schemas,
            tenancy::resources_are_isolated_by_tenant,
            members::set_and_delta,
            members::dangling_members_are_skipped_and_self_members_rejected,
            members::members_carry_kind_and_display,
            members::deleting_a_member_updates_its_groups,
            members::deleting_a_group_removes_its_memberships,
            changes::one_change_per_write_in_order,
            changes::changes_after_pages,
            query::no_filter_pages_by_start_index,
            query::pushdown_and_scan_agree,
            query::filters_that_scan,
            query::sorting,
            query::cursor_paging_visits_everything_once,
            query::invalid_cursor_is_rejected,
            query::count_zero_gives_only_the_total,
            provisioning::apps_round_trip,
            provisioning::deleting_an_app_removes_its_state,
            provisioning::assignments_mark_shadows_due,
            provisioning::assigned_among,
            provisioning::shadows_round_trip,
            provisioning::shadows_after_pages,
            provisioning::orphan_shadows_are_those_whose_source_is_gone,
            provisioning::due_shadows_in_due_order,
            provisioning::shadow_counts,
            provisioning::engine_commits_are_atomic,
            provisioning::logs_filter_and_page,
            provisioning::leases,
            provisioning::change_feed_follows_the_change_log,
            provisioning::walk_pages_in_store_order,
            inbound::staged_requests_pend_until_every_record_has_a_result,
            inbound::a_record_commit_is_all_or_nothing,
            inbound::scheduled_actions_come_due_in_order,
            inbound::many_commits_stand_or_fall_each_on_its_own,
        );
    };
    (@tests $factory:path; $($module:ident :: $name:ident),* $(,)?) => {
        mod generic {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some((store, _guard)) = $factory().await else {
                        return;
                    };
                    $crate::$module::$name(store).await;
                }
            )*
        }
    };
}
