#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace sundesk::deskctl {

// Runs one deskctl command line (without the program name) and answers its exit code:
// 0, a gRPC status code, kExitUsage or kExitNotServing. Results go to `out`; errors go to
// `err` as `ERROR: <CODE>: <message>`.
int Run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
        int in_fd, std::ostream& out, std::ostream& err);

}  // namespace sundesk::deskctl
