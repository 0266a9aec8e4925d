// The entry point. This module is compiled without -march, so the CPU check below runs on any x86-64; the kernel
// modules it calls into are built for x86-64-v3 and would die on SIGILL on an older CPU.
import HostCPU

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

let hidden = KernelCPU.hiddenFeatures(getenv(KernelCPU.hideVariable).map { String(cString: $0) })
if let refusal = KernelCPU.refusal(missing: KernelCPU.missingFeatures(hidden: hidden)) {
  printError(refusal)
  exit(CLIError.unsupportedCPU)
}
TokenScope.main()
