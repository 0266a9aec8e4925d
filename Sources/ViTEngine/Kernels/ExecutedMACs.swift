// Multiply-accumulates as the engine executes them, for the test that holds the MAC count to the work actually done
// (ViTEngine.docc/MACCounting.md, "Executed equals reported"). The kernels add what they are asked to compute at the
// point they are called: a GEMM M·N·K, attention 2·H·nq·nkv·d, a LayerNorm 5 per element, a policy's projection
// scores tokens·A. The forward pass's OpClock files the running sum under each op as it laps.
//
// The tally is task-local, so tests running side by side each see only their own passes, and a pass with no tally
// attached pays one task-local read per kernel call. Kernels add on the thread that called them (never from a pool
// worker), which is the thread that runs the pass.
import Synchronization

public final class ExecutedMACs: Sendable {
  /// The tally the kernels called from this task add to; nil (the default) counts nothing.
  @TaskLocal public static var current: ExecutedMACs?

  private struct State {
    var pending = 0
    var blocks: [[String: Int]] = []
  }
  private let state = Mutex(State())

  public init() {}

  /// Per block run under this tally, in the order run: the MACs executed under each op name of the forward pass's
  /// laps (norm1, qkv, policy, attention, proj, norm2, fc1+gelu, fc2, ...). An op that executed nothing is absent.
  public var blocks: [[String: Int]] { state.withLock { $0.blocks } }

  /// Adds `macs` to the current tally, if any.
  @inline(__always)
  static func add(_ macs: Int) {
    guard let tally = current else { return }
    tally.state.withLock { $0.pending &+= macs }
  }

  /// Starts a block: what runs from here until its first lap belongs to it.
  func beginBlock() {
    state.withLock { $0.blocks.append([:]); $0.pending = 0 }
  }

  /// Files what ran since the last lap under `op` in the current block.
  func lap(_ op: String) {
    state.withLock { s in
      guard s.pending != 0, !s.blocks.isEmpty else { return }
      s.blocks[s.blocks.count - 1][op, default: 0] += s.pending
      s.pending = 0
    }
  }
}
