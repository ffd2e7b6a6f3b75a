// The library's version, as reported by quantd_build_info.
#ifndef QUANTD_VERSION_H_
#define QUANTD_VERSION_H_

namespace quantd {
inline constexpr char kVersion[] = "0.1.0";
}  // namespace quantd

#endif  // QUANTD_VERSION_H_
