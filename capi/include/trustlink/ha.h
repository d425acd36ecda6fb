/* trustlink/ha.h: HA groups of the client (docs/ha.md).
 *
 * Include <trustlink/trustlink.h> rather than this file.
 *
 * An HA group is one virtual slot over member partitions on several servers.
 * Calls on it (tl_client_call, tl_client_call_async, and without library
 * threads) go to the active member with the fewest calls in flight; standby
 * members take load only when no active member is up. A call not yet sent is
 * always tried on another member; a call in flight when its member is lost is
 * sent again only when its op is pure (the software partition's echo, random,
 * sha256 and hmac), otherwise it fails with TL_E_OUTCOME_UNKNOWN. One timeout
 * covers every attempt. */
#ifndef TRUSTLINK_HA_H_
#define TRUSTLINK_HA_H_

#include "trustlink/base.h"
#include "trustlink/client.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Defining groups on the settings
 * ---------------------------------------------------- */

/* tl_client_settings_add_ha_group adds an HA group labelled `label` (unique,
 * no blanks; it names the virtual slot) with `serial` as the virtual slot's
 * serial number (NULL: none). Add members with tl_client_settings_add_ha_member
 * before tl_client_open, which refuses a group without members. With a client
 * root the group's slot number is kept in slots.conf, under its label. */
TL_EXPORT tl_status
tl_client_settings_add_ha_group(tl_client_settings *settings, const char *label,
                                const char *serial) TL_NOEXCEPT;

/* tl_client_settings_add_ha_member adds partition `partition` on the
 * configured server `server` to the group labelled `group_label`. `standby` 1
 * makes it a standby member, 0 an active one. TL_E_NOT_FOUND when no group has
 * that label; tl_client_open refuses a server that is not configured. */
TL_EXPORT tl_status tl_client_settings_add_ha_member(
    tl_client_settings *settings, const char *group_label, const char *server,
    const char *partition, int32_t standby) TL_NOEXCEPT;

/* tl_client_settings_set_ha sets what every group shares (HAConfiguration):
 * `ha_only` 1 hides the members' own slots from tl_client_slots and refuses
 * calls on them; a lost member is probed first after
 * `auto_reconnect_interval_ms` (non-zero; default 60000), later probes back
 * off to 8 times that; after `reconnect_attempts` failed probes the member is
 * given up on until the client is opened again (-1, the default: never). */
TL_EXPORT tl_status
tl_client_settings_set_ha(tl_client_settings *settings, int32_t ha_only,
                          uint32_t auto_reconnect_interval_ms,
                          int32_t reconnect_attempts) TL_NOEXCEPT;

/* ---- Group state
 * ------------------------------------------------------------------------ */

#define TL_HA_GROUP_UP 0 /* at least one member takes calls */
#define TL_HA_GROUP_DOWN \
  1 /* no member is up: calls fail with TL_E_UNAVAILABLE */

#define TL_HA_MEMBER_UP 0 /* takes calls */
#define TL_HA_MEMBER_DOWN                            \
  1 /* lost or not seen yet; probed until it returns \
     */
#define TL_HA_MEMBER_GIVEN_UP                     \
  2 /* lost, and reconnect_attempts probes failed \
     */

/* tl_client_ha_group_count writes the number of groups (settings order). */
TL_EXPORT tl_status tl_client_ha_group_count(const tl_client *client,
                                             size_t *out_count) TL_NOEXCEPT;

/* tl_client_ha_group_state writes group `group`'s virtual slot id (what
 * tl_client_call takes; -1 before the first attempt to every server has
 * settled), its TL_HA_GROUP_* state and its number of members.
 * TL_E_OUT_OF_RANGE for a group index out of range. */
TL_EXPORT tl_status tl_client_ha_group_state(
    const tl_client *client, size_t group, int32_t *out_slot,
    int32_t *out_state, size_t *out_num_members) TL_NOEXCEPT;

/* tl_client_ha_group_label copies the group's label into buf by the
 * string-getter rule of base.h. */
TL_EXPORT tl_status tl_client_ha_group_label(const tl_client *client,
                                             size_t group, char *buf,
                                             size_t buf_len,
                                             size_t *out_len) TL_NOEXCEPT;

/* tl_client_ha_member_state writes member `member` of group `group`: its
 * TL_HA_MEMBER_* state, whether it is a standby (1) or active (0), and its
 * calls in flight now. */
TL_EXPORT tl_status tl_client_ha_member_state(
    const tl_client *client, size_t group, size_t member, int32_t *out_state,
    int32_t *out_standby, uint64_t *out_in_flight) TL_NOEXCEPT;

/* tl_client_ha_member_server, _partition and _error copy the member's server
 * name, partition name and last failure message ("" when it never failed)
 * into buf by the string-getter rule of base.h. */
TL_EXPORT tl_status tl_client_ha_member_server(const tl_client *client,
                                               size_t group, size_t member,
                                               char *buf, size_t buf_len,
                                               size_t *out_len) TL_NOEXCEPT;
TL_EXPORT tl_status tl_client_ha_member_partition(const tl_client *client,
                                                  size_t group, size_t member,
                                                  char *buf, size_t buf_len,
                                                  size_t *out_len) TL_NOEXCEPT;
TL_EXPORT tl_status tl_client_ha_member_error(const tl_client *client,
                                              size_t group, size_t member,
                                              char *buf, size_t buf_len,
                                              size_t *out_len) TL_NOEXCEPT;

/* tl_slot_list_ha_group returns the group's label when entry `index` of the
 * slot list is an HA group's virtual slot (its server and partition are then
 * ""), "" for a partition's own slot, NULL when index is out of range.
 * Borrowed from `list`. */
TL_EXPORT const char *tl_slot_list_ha_group(const tl_slot_list *list,
                                            size_t index) TL_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_HA_H_ */
