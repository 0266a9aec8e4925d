// Multi-head scaled dot-product attention on the thread pool: softmax(Q Kᵀ / sqrt(d) [+ bias]) V, with the
// probabilities kept (views and token methods read them) and each row's entropy fused into the softmax.
//
// Shape legend (batch 1, heads side by side):
//   H heads of width d, A = H·d;  nq query rows, nkv key/value rows;
//   Q: nq x A (row stride ldq);  K, V: nkv x A (row stride ldkv);  bias: nkv, added to every row of logits;
//   P (probabilities): H x nq x nkv;  O (attended values): nq x A;  entropy: H x nq, in nats.

public enum Attention {
  public struct Output: Sendable {
    /// H x nq x nkv, the probabilities used.
    public let probabilities: [Float]
    /// nq x A.
    public let attended: Matrix
    /// H x nq, each row's entropy in nats.
    public let rowEntropy: [Float]
  }

  /// Multi-head attention over qkv (N x 3A, [q | k | v]) on the pool: every token a query and a key.
  static func multiHead(qkv: Matrix, tokens n: Int, heads: Int, headDim d: Int, bias: [Float]?, pool: ThreadPool) -> Output
  {
    let a = heads &* d
    return qkv.data.withUnsafeBufferPointer { p in
      multiHead(queries: p.baseAddress!, ldq: 3 &* a, queryCount: n, keys: p.baseAddress! + a,
                values: p.baseAddress! + 2 &* a, ldkv: 3 &* a, keyCount: n, heads: heads, headDim: d, bias: bias,
                pool: pool)
    }
  }

  /// Multi-head attention on the pool. Shape legend: Q is nq x A (row stride ldq), K and V are nkv x A (row stride
  /// ldkv), heads side by side (A = H * d); `bias` (nkv) is added to every row of logits when given. Returns the
  /// probabilities (H x nq x nkv, the ones used), the attended values (nq x A) and each row's entropy (H x nq, nats).
  ///
  /// Work split (whole heads per thread keep K_h and V_h in one core's cache): K_h and V_h are packed into GEMM panels, then
  /// (head, row chunk) tasks each do scores = Q_h K_hᵀ, the softmax and the entropy of its rows (fused into the
  /// softmax) while they are in cache, then its rows of P_h V_h. When the heads split evenly over the threads each task
  /// is a whole head and packs its own K_h, V_h (one pool job); otherwise rows are chunked as much as needed to give
  /// every thread several tasks (3 heads on 2 threads would leave one idle a third of the time) after a first job packs
  /// every head. Every task writes disjoint rows of `probabilities`, `attended` and `entropy`.
  static func multiHead(queries: UnsafePointer<Float>, ldq: Int, queryCount nq: Int, keys: UnsafePointer<Float>,
                        values: UnsafePointer<Float>, ldkv: Int, keyCount nkv: Int, heads: Int, headDim d: Int,
                        bias: [Float]?, pool: ThreadPool) -> Output
  {
    let a = heads &* d
    ExecutedMACs.add(2 &* heads &* nq &* nkv &* d)  // Q_h K_hᵀ and P_h V_h per head
    let scale = 1 / Float(d).squareRoot()
    var probabilities = [Float](unsafeUninitializedCapacity: heads &* nq &* nkv) { _, count in count = heads &* nq &* nkv }
    var attended = Matrix(uninitializedRows: nq, cols: a)
    var rowEntropy = [Float](repeating: 0, count: heads &* nq)
    let kFloats = PackedMatrix.panelFloats(n: nkv, k: d), vFloats = PackedMatrix.panelFloats(n: d, k: nkv)
    var packed = [Float](unsafeUninitializedCapacity: heads &* (kFloats &+ vFloats)) { _, count in
      count = heads &* (kFloats &+ vFloats)
    }
    let logitBias = bias ?? []
    precondition(logitBias.isEmpty || logitBias.count == nkv, "attention: \(logitBias.count) biases for \(nkv) keys")
    let tileRows = GEMMKernel.best.tileRows, rowTiles = (nq + tileRows - 1) / tileRows
    // Whole heads per task when they split evenly over the threads (DeiT-S: 6 heads on 2 threads); then each task packs
    // its own K_h and V_h and the whole attention is one pool job. Otherwise rows are chunked too, and K_h, V_h are
    // packed once in a first job that every row chunk of the head then reads.
    let wholeHeads = heads % pool.threadCount == 0
    let rowChunks = pool.threadCount == 1 || wholeHeads
      ? 1 : Swift.max(1, Swift.min(rowTiles, (4 &* pool.threadCount + heads - 1) / heads))
    probabilities.withUnsafeMutableBufferPointer { probs in
      attended.data.withUnsafeMutableBufferPointer { out in
        packed.withUnsafeMutableBufferPointer { pk in
          rowEntropy.withUnsafeMutableBufferPointer { ent in
            logitBias.withUnsafeBufferPointer { ls in
              let qp = SendablePointer(UnsafeMutablePointer(mutating: queries))
              let kp = SendablePointer(UnsafeMutablePointer(mutating: keys))
              let vp = SendablePointer(UnsafeMutablePointer(mutating: values))
              let pkp = SendablePointer(pk.baseAddress!), pp = SendablePointer(probs.baseAddress!)
              let op = SendablePointer(out.baseAddress!), ep = SendablePointer(ent.baseAddress!)
              let bias = ls.isEmpty ? nil : SendablePointer(UnsafeMutablePointer(mutating: ls.baseAddress!))
              @inline(__always) func packKeysAndValues(_ h: Int) {
                // K_h as an [nkv x d] "weight": scores = Q_h K_hᵀ; V_h packed as the transpose of [nkv x d]: P_h V_h.
                PackedMatrix.pack(rowsOf: kp.p + h &* d, n: nkv, k: d, ldw: ldkv, into: pkp.p + h &* kFloats)
                PackedMatrix.pack(columnsOf: vp.p + h &* d, k: nkv, n: d, ldv: ldkv,
                                  into: pkp.p + (heads &* kFloats &+ h &* vFloats))
              }
              if !wholeHeads { pool.parallelFor(heads) { h in packKeysAndValues(h) } }
              pool.parallelFor(heads &* rowChunks) { task in
                let h = task / rowChunks, c = task % rowChunks
                let r0 = rowTiles &* c / rowChunks &* tileRows
                let r1 = Swift.min(nq, rowTiles &* (c &+ 1) / rowChunks &* tileRows)
                guard r0 < r1 else { return }
                if wholeHeads { packKeysAndValues(h) }
                let rows = r1 &- r0
                let s = pp.p + (h &* nq &+ r0) &* nkv
                gemm(a: qp.p + (r0 &* ldq &+ h &* d), lda: ldq, m: rows, packed: pkp.p + h &* kFloats, n: nkv, k: d,
                     bias: nil, out: s, ldc: nkv)
                softmaxRows(s, rows: rows, n: nkv, scale: scale, bias: bias.map { UnsafePointer($0.p) },
                            entropy: ep.p + (h &* nq &+ r0))
                gemm(a: s, lda: nkv, m: rows, packed: pkp.p + (heads &* kFloats &+ h &* vFloats), n: d, k: nkv,
                     bias: nil, out: op.p + (r0 &* a &+ h &* d), ldc: a)
              }
            }
          }
        }
      }
    }
    return Output(probabilities: probabilities, attended: attended, rowEntropy: rowEntropy)
  }
}
