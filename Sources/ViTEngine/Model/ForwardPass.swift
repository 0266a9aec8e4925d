// The steppable forward pass. It runs one block at a time and keeps, per block, the token state, the attention
// probabilities actually used and the keys, so a viewer can step forward and back without recomputing, and so
// the token method (the TokenPolicy) can act between attention and MLP.
// ref: timm/models/vision_transformer.py Block.forward, Attention.forward, VisionTransformer.forward_features/head.

/// A preprocessed image: planar channels x height x width, already normalised.
public struct ModelInput: Sendable {
  public let channels: Int, height: Int, width: Int
  public let pixels: [Float]
  public init(channels: Int, height: Int, width: Int, pixels: [Float]) {
    precondition(pixels.count == channels * height * width, "ModelInput: \(pixels.count) values for \(channels)x\(height)x\(width)")
    self.channels = channels; self.height = height; self.width = width; self.pixels = pixels
  }
}

/// Everything recorded for one block.
public struct BlockRecord: Sendable {
  public let index: Int
  public let tokensIn: Int
  public let tokensOut: Int
  /// The token state after the block.
  public let output: TokenState
  public let heads: Int, headDim: Int
  /// Queries and keys of this block's attention (equal unless a method changes what attends to what).
  public let queries: Int, keys: Int
  /// heads x queries x keys, the probabilities actually used.
  public let probabilities: [Float]
  /// keys x (heads * headDim).
  public let keyVectors: Matrix
  /// When only some tokens took part (IdleViT): the token index behind each query row and key column; nil for all.
  public let activeTokens: [Int]?
  public let macs: BlockMACs
  /// Mean row entropy and CLS-row entropy per head, in nats.
  public let entropy: [Float], classEntropy: [Float]
  public let event: String?

  /// CLS attention over the keys for one head, or averaged over heads when `head` is nil.
  public func classAttention(head: Int? = nil) -> [Float] {
    if let head { return Array(probabilities[(head * queries * keys)..<(head * queries * keys + keys)]) }
    var mean = [Float](repeating: 0, count: keys)
    for h in 0..<heads { for j in 0..<keys { mean[j] += probabilities[h * queries * keys + j] } }
    return mean.map { $0 / Float(heads) }
  }
}

/// Classifier output.
public struct Prediction: Sendable {
  /// The final-norm CLS vector.
  public let classFeatures: [Float]
  /// nil for headless models.
  public let logits: [Float]?
  public func top(_ k: Int) -> [(index: Int, probability: Float)] {
    guard let logits else { return [] }
    let m = logits.max() ?? 0
    let e = logits.map { Foundationless.exp($0 - m) }
    let s = e.reduce(0, +)
    return e.enumerated().map { ($0.offset, $0.element / s) }.sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
      .prefix(k).map { (index: $0.0, probability: $0.1) }
  }
}

public final class ForwardPass {
  public let model: ViTModel
  public let policy: any TokenPolicy
  public let grid: GridSize
  /// The state after patch embedding, prefix tokens and position embeddings.
  public let embedded: TokenState
  public private(set) var records: [BlockRecord] = []
  private var current: TokenState
  /// When set, every op of every block run adds its wall-clock time here (`tokenscope bench --profile`).
  public var profile: OpProfile?

  public init(model: ViTModel, input: ModelInput, policy: any TokenPolicy = NoReduction()) {
    _ = EngineMemory.configured
    self.model = model
    self.policy = policy
    let shape = model.shape
    precondition(input.channels == shape.inChannels, "ForwardPass: image has \(input.channels) channels, model wants \(shape.inChannels)")
    let p = shape.patchSize
    grid = GridSize(rows: input.height / p, cols: input.width / p)
    embedded = ForwardPass.embed(model: model, input: input, grid: grid)
    current = embedded
  }

  public var depth: Int { model.depth }
  public var isFinished: Bool { records.count == model.depth }
  /// The state after the last block run (the embedding before any).
  public var state: TokenState { current }

  /// Runs the next block; returns false when all blocks have run.
  @discardableResult
  public func step() -> Bool {
    guard !isFinished else { return false }
    let record = runBlock(records.count, state: &current)
    records.append(record)
    return true
  }

  public func run() { while step() {} }

  /// The state after `block` (nil: the embedding).
  public func state(after block: Int?) -> TokenState {
    guard let block else { return embedded }
    return records[block].output
  }

  /// The final norm and head applied to the tokens after `block` ("if it stopped here"); the last block's is the output.
  public func prediction(after block: Int? = nil) -> Prediction {
    let s = block.map { records[$0].output } ?? current
    return ForwardPass.classify(model: model, state: s)
  }

  /// Runs to the end and returns the model's output.
  public func output() -> Prediction {
    run()
    return prediction()
  }

  // MARK: MACs

  public var stemMACs: Int { MACCounter.stem(model.shape, patches: grid.count) }
  public var headMACs: Int { MACCounter.head(model.shape, finalTokens: current.tokenCount) }
  /// Stem + blocks run so far + final norm and head.
  public var totalMACs: Int { stemMACs + records.reduce(0) { $0 + $1.macs.total } + headMACs }
  public var baselineMACs: Int { MACCounter.baseline(model.shape, grid: grid).total }

  // MARK: Embedding

  static func embed(model: ViTModel, input: ModelInput, grid: GridSize) -> TokenState {
    let shape = model.shape
    let p = shape.patchSize, cin = shape.inChannels, c = shape.embedDim
    // Patches flattened in (channel, y, x) order, matching the conv weight [C, Cin, p, p].
    var patches = Matrix(rows: grid.count, cols: cin * p * p)
    input.pixels.withUnsafeBufferPointer { src in
      patches.data.withUnsafeMutableBufferPointer { dst in
        for gy in 0..<grid.rows {
          for gx in 0..<grid.cols {
            var o = (gy &* grid.cols &+ gx) &* cin &* p &* p
            for ch in 0..<cin {
              for y in 0..<p {
                let rowIndex: Int = (ch &* input.height &+ gy &* p &+ y) &* input.width &+ gx &* p
                let row = src.baseAddress! + rowIndex
                (dst.baseAddress! + o).update(from: row, count: p)
                o &+= p
              }
            }
          }
        }
      }
    }
    let tokens = model.patchEmbed(patches)
    let prefix = model.prefixCount
    var x = Matrix(rows: prefix + grid.count, cols: c)
    for (i, t) in model.prefixTokens.enumerated() { x.data.replaceSubrange((i * c)..<((i + 1) * c), with: t) }
    x.data.replaceSubrange((prefix * c)..<x.data.count, with: tokens.data)
    // Position embeddings: the prefix rows that carry one, then the (resampled) grid.
    let gridPositions = Matrix(rows: model.posEmbed.rows - model.posPrefix, cols: c,
                               data: Array(model.posEmbed.data[(model.posPrefix * c)...]))
    let positions = PosEmbedResampler.resample(gridPositions, from: shape.grid, to: grid)
    for i in 0..<(model.posPrefix * c) { x.data[i] += model.posEmbed.data[i] }
    for i in 0..<(grid.count * c) { x.data[prefix * c + i] += positions.data[i] }
    return TokenState(x: x, prefixCount: prefix, grid: grid)
  }

  // MARK: One block

  func runBlock(_ index: Int, state: inout TokenState) -> BlockRecord {
    let block = model.blocks[index]
    let c = model.embedDim
    let heads = block.heads, d = block.headDim, a = block.attentionWidth
    let tokensIn = state.tokenCount

    var t = profile.map { _ in OpProfile.now() } ?? 0
    // q, k, v for every token (all keys are needed to score an idle selection).
    let y = block.norm1(state.x)
    t = profile?.add("norm1", since: t) ?? 0
    var qkv = block.qkv(y)  // N x 3A: [q | k | v]
    t = profile?.add("qkv", since: t) ?? 0

    // Before attention: which tokens take part (IdleViT). The others are copied through unchanged.
    let selection = qkv.data.withUnsafeBufferPointer {
      policy.activeTokens(block: index, state: state, projections: ProjectionView(heads: heads, headDim: d, tokens: tokensIn, qkv: $0))
    }
    var full = state
    if let selection {
      qkv = qkv.gatherRows(selection.tokens)
      // During the block the sequence is the active subset (provenance is restored from `full` afterwards).
      state.x = state.x.gatherRows(selection.tokens)
      state.size = selection.tokens.map { state.size[$0] }
    }
    let n = state.tokenCount

    // Attention: x + ls1 * proj(softmax(q kᵀ / sqrt(d) [+ log size]) v), on the pool (see `attention`).
    let proportional = policy.usesProportionalAttention(block: index, state: state)
    let logSize: [Float]? = proportional ? state.size.map { Foundationless.log($0) } : nil
    t = profile?.add("policy", since: t) ?? 0
    let (probabilities, attended, rowEntropy) = ForwardPass.attention(qkv: qkv, tokens: n, heads: heads, headDim: d,
                                                                      logSize: logSize, pool: ThreadPool.shared)
    t = profile?.add("attention", since: t) ?? 0
    let projected = block.proj(attended)
    t = profile?.add("proj", since: t) ?? 0
    ForwardPass.addResidual(&state.x, projected, scale: block.layerScale1)
    var keyVectors = Matrix(rows: n, cols: a)
    qkv.data.withUnsafeBufferPointer { src in
      keyVectors.data.withUnsafeMutableBufferPointer { dst in
        for r in 0..<n { (dst.baseAddress! + r &* a).update(from: src.baseAddress! + (r &* 3 &* a &+ a), count: a) }
      }
    }
    let (entropy, classEntropy) = AttentionStats.entropy(rowEntropies: rowEntropy, heads: heads, queries: n)
    t = profile?.add("residual+keys+stats", since: t) ?? 0

    // The policy's main hook: between attention and MLP.
    var outcome = probabilities.withUnsafeBufferPointer { probs in
      keyVectors.data.withUnsafeBufferPointer { keys in
        policy.reduce(block: index, state: &state,
                      attention: AttentionView(heads: heads, headDim: d, queries: n, keys: n, probabilities: probs, keyVectors: keys))
      }
    }

    // MLP: x + ls2 * fc2(gelu(fc1(norm2(x)))) on the tokens that remain.
    let nMLP = state.tokenCount
    t = profile?.add("policy", since: t) ?? 0
    let normed2 = block.norm2(state.x)
    t = profile?.add("norm2", since: t) ?? 0
    let hidden = block.fc1(normed2, epilogue: .gelu)  // GELU fused into fc1's store
    t = profile?.add("fc1+gelu", since: t) ?? 0
    let mlpOut = block.fc2(hidden)
    t = profile?.add("fc2", since: t) ?? 0
    ForwardPass.addResidual(&state.x, mlpOut, scale: block.layerScale2)

    // Idle tokens: scatter the active ones back into place; everything else keeps its state from before the block.
    if let selection {
      precondition(state.tokenCount == selection.tokens.count, "a policy that idles tokens cannot also drop them")
      let active = Set(selection.tokens)
      for (i, t) in selection.tokens.enumerated() {
        full.x.data.replaceSubrange((t * c)..<((t + 1) * c), with: state.x.data[(i * c)..<((i + 1) * c)])
      }
      for p in 0..<full.patchToken.count {
        full.patchState[p] = active.contains(Int(full.patchToken[p])) ? .kept : .idle
      }
      state = full
      outcome.extraMACs += selection.extraMACs
      outcome.event = [selection.event, outcome.event].compactMap { $0 }.joined(separator: "; ")
    } else if (0..<state.patchState.count).contains(where: { state.patchState[$0] == .idle }) {
      for p in 0..<state.patchState.count where state.patchState[p] == .idle { state.patchState[p] = .kept }
    }

    t = profile?.add("residual+scatter", since: t) ?? 0
    let macs = BlockMACs.block(queries: n, keys: n, mlpTokens: nMLP, embed: c, attention: a, hidden: block.mlpHidden,
                               extra: outcome.extraMACs)
    return BlockRecord(index: index, tokensIn: tokensIn, tokensOut: state.tokenCount, output: state, heads: heads,
                       headDim: d, queries: n, keys: n, probabilities: probabilities, keyVectors: keyVectors,
                       activeTokens: selection?.tokens, macs: macs, entropy: entropy, classEntropy: classEntropy,
                       event: outcome.event)
  }

  /// Multi-head attention over qkv (N x 3A, [q | k | v]) on the pool. Returns the probabilities (H x N x N, the ones
  /// used), the attended values (N x A, heads side by side) and each row's entropy (H x N, nats).
  ///
  /// Work split (performance.md: "give each thread whole heads"): phase 1 packs K_h and V_h of every head into GEMM
  /// panels (one task per head and matrix); phase 2 runs (head, row chunk) tasks, each doing scores = Q_h K_hᵀ, the
  /// softmax and the entropy of its rows (fused into the softmax) while they are in cache, then its rows of P_h V_h. Rows are chunked only as
  /// much as needed to give every thread several tasks (3 heads on 2 threads would otherwise leave one idle a third of
  /// the time). Every task writes disjoint rows of `probabilities`, `attended` and `entropy`.
  static func attention(qkv: Matrix, tokens n: Int, heads: Int, headDim d: Int, logSize: [Float]?, pool: ThreadPool)
    -> (probabilities: [Float], attended: Matrix, rowEntropy: [Float])
  {
    let a = heads &* d, ld = 3 &* a
    let scale = 1 / Float(d).squareRoot()
    var probabilities = [Float](unsafeUninitializedCapacity: heads &* n &* n) { _, count in count = heads &* n &* n }
    var attended = Matrix(rows: n, cols: a)
    var rowEntropy = [Float](repeating: 0, count: heads &* n)
    let kFloats = PackedMatrix.panelFloats(n: n, k: d), vFloats = PackedMatrix.panelFloats(n: d, k: n)
    var packed = [Float](unsafeUninitializedCapacity: heads &* (kFloats &+ vFloats)) { _, count in
      count = heads &* (kFloats &+ vFloats)
    }
    let logSize = logSize ?? []
    let tileRows = GEMMKernel.best.tileRows, rowTiles = (n + tileRows - 1) / tileRows
    let rowChunks = pool.threadCount == 1 ? 1 : Swift.max(1, Swift.min(rowTiles, (4 &* pool.threadCount + heads - 1) / heads))
    qkv.data.withUnsafeBufferPointer { qkvp in
      probabilities.withUnsafeMutableBufferPointer { probs in
        attended.data.withUnsafeMutableBufferPointer { out in
          packed.withUnsafeMutableBufferPointer { pk in
            rowEntropy.withUnsafeMutableBufferPointer { ent in
              logSize.withUnsafeBufferPointer { ls in
                let base = SendablePointer(UnsafeMutablePointer(mutating: qkvp.baseAddress!))
                let pkp = SendablePointer(pk.baseAddress!), pp = SendablePointer(probs.baseAddress!)
                let op = SendablePointer(out.baseAddress!), ep = SendablePointer(ent.baseAddress!)
                let bias = ls.isEmpty ? nil : SendablePointer(UnsafeMutablePointer(mutating: ls.baseAddress!))
                pool.parallelFor(2 &* heads) { task in
                  let h = task >> 1
                  if task & 1 == 0 {  // K_h as an [n x d] "weight": scores = Q_h K_hᵀ
                    PackedMatrix.pack(rowsOf: base.p + (a &+ h &* d), n: n, k: d, ldw: ld, into: pkp.p + h &* kFloats)
                  } else {  // V_h packed as the transpose of [n x d]: out_h = P_h V_h
                    PackedMatrix.pack(columnsOf: base.p + (2 &* a &+ h &* d), k: n, n: d, ldv: ld,
                                      into: pkp.p + (heads &* kFloats &+ h &* vFloats))
                  }
                }
                pool.parallelFor(heads &* rowChunks) { task in
                  let h = task / rowChunks, c = task % rowChunks
                  let r0 = rowTiles &* c / rowChunks &* tileRows
                  let r1 = Swift.min(n, rowTiles &* (c &+ 1) / rowChunks &* tileRows)
                  guard r0 < r1 else { return }
                  let rows = r1 &- r0
                  let s = pp.p + (h &* n &+ r0) &* n
                  gemm(a: base.p + (r0 &* ld &+ h &* d), lda: ld, m: rows, packed: pkp.p + h &* kFloats, n: n, k: d,
                       bias: nil, out: s, ldc: n)
                  softmaxRows(s, rows: rows, n: n, scale: scale, bias: bias.map { UnsafePointer($0.p) },
                              entropy: ep.p + (h &* n &+ r0))
                  gemm(a: s, lda: n, m: rows, packed: pkp.p + (heads &* kFloats &+ h &* vFloats), n: d, k: n, bias: nil,
                       out: op.p + (r0 &* a &+ h &* d), ldc: a)
                }
              }
            }
          }
        }
      }
    }
    return (probabilities, attended, rowEntropy)
  }

  /// x += scale ⊙ delta (row-wise LayerScale when present).
  static func addResidual(_ x: inout Matrix, _ delta: Matrix, scale: [Float]?) {
    precondition(x.rows == delta.rows && x.cols == delta.cols, "residual: \(x.rows)x\(x.cols) += \(delta.rows)x\(delta.cols)")
    let c = x.cols
    x.data.withUnsafeMutableBufferPointer { xp in
      delta.data.withUnsafeBufferPointer { dp in
        if let scale {
          scale.withUnsafeBufferPointer { g in
            for r in 0..<x.rows {
              let xr = xp.baseAddress! + r &* c, dr = dp.baseAddress! + r &* c
              for j in 0..<c { xr[j] += g[j] * dr[j] }
            }
          }
        } else {
          for i in 0..<xp.count { xp[i] += dp[i] }
        }
      }
    }
  }

  // MARK: Head

  static func classify(model: ViTModel, state: TokenState) -> Prediction {
    let c = model.embedDim
    let normed = model.norm(state.x)
    let cls = normed.row(0)
    guard let head = model.head else { return Prediction(classFeatures: cls, logits: nil) }
    var input = Matrix(rows: 1, cols: head.inFeatures)
    switch model.shape.headInput {
    case .classToken:
      input.data = cls
    case .classTokenAndPatchMean:
      var mean = [Float](repeating: 0, count: c)
      let patches = normed.rows - state.prefixCount
      for r in state.prefixCount..<normed.rows { for j in 0..<c { mean[j] += normed[r, j] } }
      input.data = cls + mean.map { $0 / Float(Swift.max(patches, 1)) }
    }
    var logits = head(input).data
    if let dist = model.headDist {
      let distLogits = dist(Matrix(rows: 1, cols: c, data: normed.row(1))).data
      logits = zip(logits, distLogits).map { ($0 + $1) / 2 }
    }
    return Prediction(classFeatures: cls, logits: logits)
  }
}

/// libm access without Foundation.
enum Foundationless {
  static func exp(_ x: Float) -> Float { expf(x) }
  static func log(_ x: Float) -> Float { logf(x) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
