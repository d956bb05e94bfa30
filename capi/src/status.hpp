#pragma once

namespace clc {

const char *status_name(int status) noexcept;
const char *status_description(int status) noexcept;

}  // namespace clc
