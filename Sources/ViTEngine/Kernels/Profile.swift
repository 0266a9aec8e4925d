// Per-op wall-clock accounting for `tokenscope bench --profile`: the forward pass adds the time of each op it runs
// (norm1, qkv, attention, ...) when a profile is attached, and does nothing (one nil check per op) when not.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public final class OpProfile: @unchecked Sendable {
  /// Op names in first-seen order, with total nanoseconds and call counts.
  public private(set) var names: [String] = []
  public private(set) var nanoseconds: [String: UInt64] = [:]
  public private(set) var calls: [String: Int] = [:]

  public init() {}

  /// Monotonic nanoseconds.
  @inline(__always)
  public static func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
  }

  /// Adds the time since `start` to `op`; returns now (the next op's start).
  @discardableResult
  public func add(_ op: String, since start: UInt64) -> UInt64 {
    let t = OpProfile.now()
    if nanoseconds[op] == nil { names.append(op) }
    nanoseconds[op, default: 0] &+= t &- start
    calls[op, default: 0] += 1
    return t
  }

  public func reset() { names = []; nanoseconds = [:]; calls = [:] }
}

/// Times the consecutive ops of one block into a profile (`bench --profile`) and files the MACs they executed into the
/// task's `ExecutedMACs` tally; does nothing without either.
struct OpClock {
  let profile: OpProfile?
  let executed: ExecutedMACs?
  private var last: UInt64
  init(_ profile: OpProfile?) {
    self.profile = profile; last = profile == nil ? 0 : OpProfile.now()
    executed = ExecutedMACs.current
    executed?.beginBlock()
  }
  /// Adds the time since the last lap, and the MACs executed since, to `op`.
  mutating func lap(_ op: String) {
    if let profile { last = profile.add(op, since: last) }
    executed?.lap(op)
  }
}
