#pragma once

// Errors are values on the request path (absl::Status / absl::StatusOr; its codes are
// gRPC's codes). These two macros keep the happy path readable.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SUNDESK_CONCAT_INNER(a, b) a##b
#define SUNDESK_CONCAT(a, b) SUNDESK_CONCAT_INNER(a, b)

#define SUNDESK_RETURN_IF_ERROR(expr)             \
  do {                                            \
    if (::absl::Status _st = (expr); !_st.ok()) { \
      return _st;                                 \
    }                                             \
  } while (false)

#define SUNDESK_ASSIGN_OR_RETURN(lhs, expr) \
  SUNDESK_ASSIGN_OR_RETURN_IMPL(SUNDESK_CONCAT(_statusor_, __LINE__), lhs, expr)

#define SUNDESK_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = std::move(*tmp)
