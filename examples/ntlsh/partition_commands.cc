// ntlsh's partition command group, on trustlink/registry.h and the partition
// tokens of partition_token.h. See partition_commands.h.
#include "examples/ntlsh/partition_commands.h"

#include <memory>
#include <string>

#include "examples/ntlsh/format.h"
#include "examples/ntlsh/output.h"
#include "examples/ntlsh/partition_token.h"
#include "trustlink/trustlink.h"

namespace ntlsh {

std::vector<Command> PartitionCommands(const ShellAccess& shell) {
  return {
      {{"partition", "create"},
       {{"partition", true},
        {"label", true},
        {"serial", true},
        {"sopinfile", true},
        {"userpinfile", true},
        {"cloningdomain", true}},
       true,
       [shell](const Args& a, Output* out) {
         // With both PIN files the partition gets its PKCS#11 token; PINs
         // come from files because argv is visible to every local user.
         const bool token = a.Has("sopinfile") || a.Has("userpinfile");
         std::string so_pin, user_pin;
         if (token) {
           TokenResult r =
               ReadPinFile(RequireFlag(a, "sopinfile"), "SO PIN", &so_pin);
           if (r.status == TL_OK) {
             if (!r.warning.empty()) out->Warning(r.warning);
             r = ReadPinFile(RequireFlag(a, "userpinfile"), "user PIN",
                             &user_pin);
           }
           if (r.status != TL_OK) CommandFailed(r.status, r.message);
           if (!r.warning.empty()) out->Warning(r.warning);
         }
         if (a.Has("cloningdomain") && !token) {
           CommandFailed(TL_E_INVALID_ARGUMENT,
                         "-cloningdomain needs the partition's token: give "
                         "-sopinfile and -userpinfile too");
         }
         tl_registry* reg = shell.registry(true);
         const std::string name = RequireFlag(a, "partition");
         tl_partition_info* p = nullptr;
         tl_status st = tl_registry_create_partition(
             reg, name.c_str(), a.Get("label").c_str(), a.Get("serial").c_str(),
             &p);
         std::unique_ptr<tl_partition_info, void (*)(tl_partition_info*)> pp(
             p, tl_partition_info_free);
         shell.check(st, reg);
         if (token) {
           TokenResult r =
               CreatePartitionToken(shell.root, name, so_pin, user_pin);
           bool created = false;
           if (r.status == TL_OK && a.Has("cloningdomain")) {
             // An HA group's members share this key (docs/ha.md); a failure
             // removes the token, so nothing is left half-made.
             r = JoinCloningDomain(shell.root, name, so_pin,
                                   a.Get("cloningdomain"), &created);
             if (r.status != TL_OK) {
               bool removed = false;
               RemovePartitionToken(shell.root, name, &removed);
             }
           }
           if (r.status == TL_OK && a.Has("cloningdomain")) {
             out->Field("Cloning domain", "cloning_domain",
                        a.Get("cloningdomain") +
                            (created ? " (new key: copy this file to the "
                                       "group's other appliances)"
                                     : " (key imported)"));
           }
           if (r.status != TL_OK) {
             tl_partition_info* undone = nullptr;
             tl_registry_delete_partition(reg, name.c_str(), 1, &undone);
             tl_partition_info_free(undone);
             CommandFailed(r.status,
                           r.message + "; the partition was not created");
           }
         }
         out->Field("Partition", "partition", tl_partition_info_name(p));
         out->Field("Serial", "serial", tl_partition_info_serial(p));
         out->Field("PKCS#11 token", "pkcs11_token",
                    token ? name : "none (give -sopinfile and -userpinfile)");
       },
       "partition create -partition NAME [-label TEXT] [-serial DIGITS]\n"
       "      [-sopinfile FILE -userpinfile FILE]  (PINs on each file's "
       "first line)\n"
       "      [-cloningdomain KEYFILE]  (HA groups: the members' shared "
       "wrapping key; made if missing)"},
      {{"partition", "delete"},
       {{"partition", true}, {"force", false}},
       true,
       [shell](const Args& a, Output* out) {
         tl_registry* reg = shell.registry(false);
         tl_partition_info* p = nullptr;
         tl_status st = tl_registry_delete_partition(
             reg, RequireFlag(a, "partition").c_str(), a.Has("force") ? 1 : 0,
             &p);
         std::unique_ptr<tl_partition_info, void (*)(tl_partition_info*)> pp(
             p, tl_partition_info_free);
         shell.check(st, reg);
         // ntlsd sees the registry change and closes the partition's streams;
         // then the token and its keys go.
         bool had_token = false;
         TokenResult r =
             RemovePartitionToken(shell.root, a.Get("partition"), &had_token);
         if (r.status != TL_OK) CommandFailed(r.status, r.message);
         std::vector<std::string> lost;
         for (size_t i = 0; i < tl_partition_info_num_clients(p); ++i) {
           lost.push_back(tl_partition_info_client(p, i));
         }
         out->Line("Partition " + a.Get("partition") + " deleted" +
                   (had_token ? ", with its PKCS#11 token and keys." : "."));
         if (!lost.empty()) {
           out->Warning("these clients lost access to it: " + Join(lost, ", "));
         }
         Json arr = Json::Arr();
         for (const auto& l : lost) arr.Add(Json::Str(l));
         out->Data("clients_lost_access", arr);
       },
       "partition delete -partition NAME [-force]"},
      {{"partition", "list"},
       {},
       false,
       [shell](const Args&, Output* out) {
         tl_registry* reg = shell.registry(false);
         tl_partition_list* list = nullptr;
         tl_status st = tl_registry_list_partitions(reg, &list);
         std::unique_ptr<tl_partition_list, void (*)(tl_partition_list*)> lp(
             list, tl_partition_list_free);
         shell.check(st, reg);
         std::vector<std::vector<std::string>> rows;
         for (size_t i = 0; i < tl_partition_list_count(list); ++i) {
           const tl_partition_info* p = tl_partition_list_get(list, i);
           rows.push_back({tl_partition_info_name(p),
                           tl_partition_info_serial(p),
                           tl_partition_info_label(p),
                           std::to_string(tl_partition_info_num_clients(p))});
         }
         out->Table("partitions", {"Partition", "Serial", "Label", "Clients"},
                    {"name", "serial", "label", "clients"}, rows);
       },
       "partition list"},
      {{"partition", "show"},
       {{"partition", true}},
       false,
       [shell](const Args& a, Output* out) {
         tl_registry* reg = shell.registry(false);
         tl_partition_info* p = nullptr;
         tl_status st = tl_registry_get_partition(
             reg, RequireFlag(a, "partition").c_str(), &p);
         std::unique_ptr<tl_partition_info, void (*)(tl_partition_info*)> pp(
             p, tl_partition_info_free);
         shell.check(st, reg);
         std::vector<std::string> clients;
         for (size_t i = 0; i < tl_partition_info_num_clients(p); ++i) {
           clients.push_back(tl_partition_info_client(p, i));
         }
         out->Field("Partition", "partition", tl_partition_info_name(p));
         out->Field("Label", "label", tl_partition_info_label(p));
         out->Field("Serial", "serial", tl_partition_info_serial(p));
         out->Field("Created", "created",
                    Time(tl_partition_info_created_unix(p)));
         out->Field("Clients", "clients", Join(clients, ", "));
       },
       "partition show -partition NAME"},
  };
}

}  // namespace ntlsh
