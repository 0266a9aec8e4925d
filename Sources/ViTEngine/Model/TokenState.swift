// The token sequence between blocks, with the bookkeeping every token method shares: each token's size (how many
// original patches it stands for) and each original patch's provenance (which token holds it, and how it got there).
// Maps, FLOPs and the merge maths all read this one state, so they cannot drift apart (ToMe's size + source idea).

/// What happened to an original patch by the end of a block.
public enum PatchState: String, Sendable, CaseIterable {
  /// Its own token is still in the sequence (possibly with others merged into it).
  case kept
  /// It was merged into another token (ToMe, MSTM).
  case merged
  /// It was folded into EViT's fused "inattentive" token.
  case fused
  /// It was dropped: no token holds it any more.
  case pruned
  /// Its token is in the sequence but was skipped by this block (IdleViT).
  case idle
}

public struct TokenState: Sendable {
  /// N x C token states; rows 0..<prefixCount are the prefix tokens (CLS first).
  public var x: Matrix
  /// N token sizes: the number of original patches each token holds (prefix tokens count 1).
  public var size: [Float]
  /// For each original patch (row-major over the grid): the index of the token holding it, or -1 if dropped.
  public var patchToken: [Int32]
  /// For each original patch: its state at the end of the last block run.
  public var patchState: [PatchState]
  public let prefixCount: Int
  public let grid: GridSize
  /// The reorganisations a method applied in the block that produced this state, in order (empty when none).
  public var reorganizations: [TokenReorganization] = []
  /// 2 per token: its grid coordinates (row, column) in cell units, continuous. A patch's own token sits at its cell's
  /// index; a merged token at the size-weighted mean of what it merged ([recon]: where rotary position embeddings put
  /// a token that stands for several patches; RotaryEmbedding.swift). Prefix tokens have none (0, 0; never read).
  public var position: [Float]

  public var tokenCount: Int { x.rows }

  /// The state straight after embedding: one token per patch, all kept.
  public init(x: Matrix, prefixCount: Int, grid: GridSize) {
    precondition(x.rows == prefixCount + grid.count, "TokenState: \(x.rows) tokens for \(prefixCount) prefix + \(grid) grid")
    self.x = x
    self.size = [Float](repeating: 1, count: x.rows)
    self.patchToken = (0..<grid.count).map { Int32(prefixCount + $0) }
    self.patchState = [PatchState](repeating: .kept, count: grid.count)
    self.prefixCount = prefixCount
    self.grid = grid
    var position = [Float](repeating: 0, count: 2 * x.rows)
    for p in 0..<grid.count {
      position[2 * (prefixCount + p)] = Float(p / grid.cols)
      position[2 * (prefixCount + p) + 1] = Float(p % grid.cols)
    }
    self.position = position
  }

  /// The positions after a reorganisation in which old token t becomes part of new token `newIndex[t]` (-1: dropped):
  /// each of the `count` new tokens at the size-weighted mean of the old tokens that make it up (a token that takes no
  /// others keeps its own position exactly).
  public func positions(after newIndex: [Int], count: Int) -> [Float] {
    precondition(newIndex.count == tokenCount, "positions: \(newIndex.count) indices for \(tokenCount) tokens")
    var sum = [Float](repeating: 0, count: 2 * count), weight = [Float](repeating: 0, count: count)
    var only = [Int](repeating: -1, count: count), members = [Int](repeating: 0, count: count)
    for (t, g) in newIndex.enumerated() where g >= 0 {
      sum[2 * g] += size[t] * position[2 * t]
      sum[2 * g + 1] += size[t] * position[2 * t + 1]
      weight[g] += size[t]
      members[g] += 1
      only[g] = t
    }
    var out = [Float](repeating: 0, count: 2 * count)
    for g in 0..<count {
      if members[g] == 1 {
        out[2 * g] = position[2 * only[g]]; out[2 * g + 1] = position[2 * only[g] + 1]
      } else if weight[g] > 0 {
        out[2 * g] = sum[2 * g] / weight[g]; out[2 * g + 1] = sum[2 * g + 1] / weight[g]
      }
    }
    return out
  }

  /// The positions of tokens `tokens`, in that order.
  func gatheringPositions(_ tokens: [Int]) -> [Float] { tokens.flatMap { [position[2 * $0], position[2 * $0 + 1]] } }

  /// Sum of sizes: stays prefixCount + patches held (a merge moves size, never creates or destroys it,
  /// except that pruning removes the pruned patches' share).
  public var totalSize: Float { size.reduce(0, +) }
}

extension TokenState {
  /// This state (a block's input) with the selected tokens replaced by `active`'s rows, in selection order; every
  /// other token keeps its input state and its patches are marked idle.
  func scatteringBack(_ active: TokenState, selected: [Int]) -> TokenState {
    var out = self
    let c = x.cols
    for (i, t) in selected.enumerated() {
      out.x.data.replaceSubrange((t * c)..<((t + 1) * c), with: active.x.data[(i * c)..<((i + 1) * c)])
    }
    var isActive = [Bool](repeating: false, count: tokenCount)
    for t in selected { isActive[t] = true }
    for p in 0..<out.patchToken.count {
      out.patchState[p] = isActive[Int(out.patchToken[p])] ? .kept : .idle
    }
    return out
  }

  /// Patches idle in the last block are active again (a block where every token runs).
  mutating func clearIdle() {
    for p in 0..<patchState.count where patchState[p] == .idle { patchState[p] = .kept }
  }
}
