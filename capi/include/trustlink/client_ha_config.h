/* trustlink/client_ha_config.h: HA groups in a client root's trustlink.conf,
 * as `vtl hagroup` edits them (docs/ha.md, "Configuration").
 *
 * A group is one virtual slot over member partitions on several configured
 * servers. In trustlink.conf it is a VirtualTokenNN entry of the VirtualToken
 * section (Label, SN, Members, Standby), and HAConfiguration holds HAOnly,
 * AutoReconnectInterval and reconnAtt, as in a Luna Chrystoki.conf. A client
 * opened from the root (tl_client_settings_load_root) runs the groups.
 *
 * A member is given as a server and a partition: `server` names a server in
 * trustlink.conf (tl_client_root_add_server) and `partition` a partition on
 * it. With `server` NULL, `partition` is a partition serial number instead,
 * as Luna writes members (imported configs); it matches the slot whose
 * partition has that serial.
 *
 * Every write holds the client root's lock, validates the whole file and
 * replaces it atomically: on failure nothing was written, and the handle's
 * last error names the problem and the fix. Group labels are compared
 * without regard to case.
 *
 * Include <trustlink/trustlink.h> rather than this file. */
#ifndef TRUSTLINK_CLIENT_HA_CONFIG_H_
#define TRUSTLINK_CLIENT_HA_CONFIG_H_

#include "trustlink/base.h"
#include "trustlink/client_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tl_ha_group_list: the groups of trustlink.conf and the HAConfiguration
 * values, read at one moment. Thread safety: immutable; strings are borrowed
 * from the list. */
typedef struct tl_ha_group_list tl_ha_group_list;

/* tl_client_root_ha_create_group adds a group labelled label (1-32 letters,
 * digits or _.-, not starting with '.' or '-') whose first, active member is
 * server/partition. Its virtual slot serial (VirtualTokenNNSN) is derived from
 * the label. TL_E_ALREADY_EXISTS if the label is taken; TL_E_NOT_FOUND if the
 * server is not configured. */
TL_EXPORT tl_status tl_client_root_ha_create_group(
    tl_client_root *root, const char *label, const char *server,
    const char *partition) TL_NOEXCEPT;

/* tl_client_root_ha_add_member adds server/partition to the group: active
 * (standby 0) or standby (non-zero; it takes load only when no active member
 * is up). A member already in the group with the other role changes role, as
 * Luna's addStandby does; TL_E_ALREADY_EXISTS if it has that role already;
 * TL_E_FAILED_PRECONDITION if that would leave no active member. */
TL_EXPORT tl_status tl_client_root_ha_add_member(tl_client_root *root,
                                                 const char *label,
                                                 const char *server,
                                                 const char *partition,
                                                 int32_t standby) TL_NOEXCEPT;

/* tl_client_root_ha_remove_member removes server/partition from the group.
 * TL_E_NOT_FOUND if it is not a member; TL_E_FAILED_PRECONDITION for the last
 * active member (delete the group instead). */
TL_EXPORT tl_status tl_client_root_ha_remove_member(
    tl_client_root *root, const char *label, const char *server,
    const char *partition) TL_NOEXCEPT;

/* tl_client_root_ha_delete_group removes the group; the groups after it are
 * renumbered so that the VirtualTokenNN numbering stays contiguous. */
TL_EXPORT tl_status tl_client_root_ha_delete_group(
    tl_client_root *root, const char *label) TL_NOEXCEPT;

/* tl_client_root_ha_set_ha_only writes HAOnly: non-zero shows only the
 * groups' virtual slots in the slot list, not their members' slots. */
TL_EXPORT tl_status tl_client_root_ha_set_ha_only(tl_client_root *root,
                                                  int32_t ha_only) TL_NOEXCEPT;

/* tl_client_root_ha_set_reconnect_interval writes AutoReconnectInterval: the
 * seconds (1 to 86400) before a lost member is probed again. */
TL_EXPORT tl_status tl_client_root_ha_set_reconnect_interval(
    tl_client_root *root, int32_t seconds) TL_NOEXCEPT;

/* tl_client_root_ha_set_reconnect_attempts writes reconnAtt: the probes of a
 * lost member before it is given up on until the next open; -1 for ever, 0
 * never, or up to 1000000. */
TL_EXPORT tl_status tl_client_root_ha_set_reconnect_attempts(
    tl_client_root *root, int32_t attempts) TL_NOEXCEPT;

/* tl_client_root_ha_list_groups reads the groups and HAConfiguration. A
 * trustlink.conf that does not validate is TL_E_CONFIG_INVALID, its message
 * giving file:line and the fix. */
TL_EXPORT tl_status tl_client_root_ha_list_groups(
    tl_client_root *root, tl_ha_group_list **out) TL_NOEXCEPT;

TL_EXPORT void tl_ha_group_list_free(tl_ha_group_list *list) TL_NOEXCEPT;
/* tl_ha_group_list_count returns the number of groups (0 for NULL). */
TL_EXPORT size_t tl_ha_group_list_count(const tl_ha_group_list *list)
    TL_NOEXCEPT;
/* The group getters return TL_E_OUT_OF_RANGE for index >= count. */
TL_EXPORT tl_status tl_ha_group_list_label(const tl_ha_group_list *list,
                                           size_t index,
                                           const char **out) TL_NOEXCEPT;
/* tl_ha_group_list_serial gives the virtual slot's serial number. */
TL_EXPORT tl_status tl_ha_group_list_serial(const tl_ha_group_list *list,
                                            size_t index,
                                            const char **out) TL_NOEXCEPT;
/* tl_ha_group_list_member_count gives the group's number of members, active
 * ones first, then standby ones. */
TL_EXPORT tl_status tl_ha_group_list_member_count(const tl_ha_group_list *list,
                                                  size_t index,
                                                  size_t *out) TL_NOEXCEPT;
/* tl_ha_group_list_member gives one member: its server and partition, or ""
 * for both and its serial number (and "" for the serial otherwise), and 1 in
 * *out_standby for a standby member. TL_E_OUT_OF_RANGE for a bad index or
 * member index. */
TL_EXPORT tl_status tl_ha_group_list_member(const tl_ha_group_list *list,
                                            size_t index, size_t member,
                                            const char **out_server,
                                            const char **out_partition,
                                            const char **out_serial,
                                            int32_t *out_standby) TL_NOEXCEPT;
/* tl_ha_group_list_options gives HAConfiguration: HAOnly (0/1),
 * AutoReconnectInterval in seconds (default 60) and reconnAtt (-1, the
 * default: for ever). */
TL_EXPORT tl_status
tl_ha_group_list_options(const tl_ha_group_list *list, int32_t *out_ha_only,
                         int32_t *out_auto_reconnect_interval_s,
                         int32_t *out_reconnect_attempts) TL_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_CLIENT_HA_CONFIG_H_ */
