// Fast kernels against their naive oracles, on awkward shapes (197 tokens, 1 row, widths not a multiple of 8).
import Testing
import TestSupport
@testable import ViTEngine

@Suite("Kernels")
struct KernelTests {
  @Test("GEMM equals the reference", arguments: [(197, 64, 197), (1, 7, 1), (7, 13, 5), (197, 384, 1152), (13, 31, 17), (6, 16, 16), (50, 48, 200)])
  func gemmMatchesReference(shape: (Int, Int, Int)) {
    let (m, k, n) = shape
    var rng = SeededRandom(seed: UInt64(m * 1000 + k * 10 + n))
    let x = Matrix(rows: m, cols: k, data: rng.floats(m * k))
    let w = rng.floats(n * k)
    let b = rng.floats(n)
    let fast = LinearLayer(weight: w, bias: b, outFeatures: n, inFeatures: k)(x)
    let slow = linearReference(x, weight: w, bias: b, outFeatures: n)
    expectClose(fast.data, slow.data, "gemm \(m)x\(k)x\(n)", tolerance: 1e-5)
    let noBias = LinearLayer(weight: w, bias: nil, outFeatures: n, inFeatures: k)(x)
    expectClose(noBias.data, linearReference(x, weight: w, bias: nil, outFeatures: n).data, "gemm no bias", tolerance: 1e-5)
  }

  @Test func transposedPackingMatchesReference() {
    // P[m x t] * V[t x d], V packed by columns, as attention does.
    var rng = SeededRandom(seed: 7)
    let (m, t, d) = (11, 19, 10)
    let p = rng.floats(m * t), v = rng.floats(t * d)
    let packed = v.withUnsafeBufferPointer { PackedMatrix(columnsOf: $0.baseAddress!, k: t, n: d, ldv: d) }
    var out = [Float](repeating: 0, count: m * d)
    p.withUnsafeBufferPointer { pp in
      packed.panels.withUnsafeBufferPointer { pk in
        out.withUnsafeMutableBufferPointer { o in
          gemm(a: pp.baseAddress!, lda: t, m: m, packed: pk.baseAddress!, n: d, k: t, bias: nil, out: o.baseAddress!, ldc: d)
        }
      }
    }
    var want = [Float](repeating: 0, count: m * d)
    for i in 0..<m { for j in 0..<d { var s = 0.0; for q in 0..<t { s += Double(p[i * t + q]) * Double(v[q * d + j]) }; want[i * d + j] = Float(s) } }
    expectClose(out, want, "P·V", tolerance: 1e-5)
    for kernel in GEMMKernel.available {
      var other = [Float](repeating: .nan, count: m * d)
      p.withUnsafeBufferPointer { pp in
        packed.panels.withUnsafeBufferPointer { pk in
          other.withUnsafeMutableBufferPointer { o in
            gemm(a: pp.baseAddress!, lda: t, m: m, packed: pk.baseAddress!, n: d, k: t, bias: nil, out: o.baseAddress!, ldc: d,
                 kernel: kernel)
          }
        }
      }
      expectClose(other, want, "P·V with \(kernel)", tolerance: 1e-5)
    }
  }

  @Test("LayerNorm equals the reference", arguments: [1, 7, 13, 32, 384, 385])
  func layerNormMatchesReference(n: Int) {
    var rng = SeededRandom(seed: UInt64(n))
    let rows = 5
    let x = rng.floats(rows * n, in: -3...5), g = rng.floats(n), b = rng.floats(n)
    let got = LayerNormWeights(gamma: g, beta: b, eps: 1e-6)(Matrix(rows: rows, cols: n, data: x)).data
    var want = [Float](repeating: 0, count: rows * n)
    for r in 0..<rows {
      let row = x[(r * n)..<((r + 1) * n)].map(Double.init)
      let mean = row.reduce(0, +) / Double(n)
      let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
      for j in 0..<n { want[r * n + j] = Float((row[j] - mean) / (variance + 1e-6).squareRoot() * Double(g[j]) + Double(b[j])) }
    }
    expectClose(got, want, "layerNorm n=\(n)", tolerance: 1e-5)
  }

  // The elementwise kernels exist twice (SIMD8; SIMD16 where the CPU has AVX-512): each test runs every one this CPU has.

  @Test func geluIsTheExactErfForm() {
    let xs: [Float] = stride(from: -8, through: 8, by: 0.0137).map { Float($0) } + [0, -0.0, 1e-8, 30, -30]
    for kernel in GEMMKernel.available {
      var got = xs
      got.withUnsafeMutableBufferPointer { geluInPlace($0.baseAddress!, count: $0.count, kernel: kernel) }
      for (x, g) in zip(xs, got) {
        let want = 0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot()))
        #expect(abs(Double(g) - want) <= 2e-6 * max(1, abs(want)), "\(kernel): gelu(\(x)) = \(g), want \(want)")
      }
    }
  }

  @Test("softmax equals the reference", arguments: [1, 7, 8, 15, 16, 17, 24, 197, 50])
  func softmaxMatchesReference(n: Int) {
    var rng = SeededRandom(seed: UInt64(n) + 99)
    let rows = 3
    let x = rng.floats(rows * n, in: -20...20), bias = rng.floats(n, in: -2...0)
    for kernel in GEMMKernel.available {
      for withBias in [true, false] {
        var got = x
        got.withUnsafeMutableBufferPointer { p in
          bias.withUnsafeBufferPointer {
            softmaxRows(p.baseAddress!, rows: rows, n: n, scale: 0.125, bias: withBias ? $0.baseAddress : nil, kernel: kernel)
          }
        }
        for r in 0..<rows {
          let logits = (0..<n).map { Double(x[r * n + $0]) * 0.125 + (withBias ? Double(bias[$0]) : 0) }
          let m = logits.max()!
          let e = logits.map { exp($0 - m) }
          let s = e.reduce(0, +)
          expectClose(Array(got[(r * n)..<((r + 1) * n)]), e.map { Float($0 / s) },
                      "\(kernel) softmax row \(r) n=\(n) bias=\(withBias)", tolerance: 1e-6)
        }
      }
    }
  }

  @Test("softmax's fused entropy equals -sum p ln p in Double", arguments: [1, 7, 8, 17, 197])
  func softmaxEntropy(n: Int) {
    var rng = SeededRandom(seed: UInt64(n) &* 977)
    let rows = 5
    var logits = rng.floats(rows * n, in: -20...20)
    logits[0] = 80  // a nearly one-hot first row
    let bias = rng.floats(n, in: -2...0)
    for kernel in GEMMKernel.available {
      var x = logits
      var entropy = [Float](repeating: .nan, count: rows)
      x.withUnsafeMutableBufferPointer { xp in
        bias.withUnsafeBufferPointer { b in
          entropy.withUnsafeMutableBufferPointer {
            softmaxRows(xp.baseAddress!, rows: rows, n: n, scale: 0.125, bias: b.baseAddress, entropy: $0.baseAddress,
                        kernel: kernel)
          }
        }
      }
      for r in 0..<rows {
        let want = -x[(r * n)..<((r + 1) * n)].reduce(0.0) { $1 > 0 ? $0 + Double($1) * log(Double($1)) : $0 }
        #expect(abs(Double(entropy[r]) - want) <= 2e-5 * max(1, want), "\(kernel) row \(r): \(entropy[r]) vs \(want)")
      }
    }
  }

  @Test func gemmChunksAreEqualAndAMultipleOfTheThreads() {
    // fc2/proj of DeiT-S: 24 panels = 12 pairs on 2 threads, 8 chunks wanted: 12 chunks of one pair each.
    #expect(balancedChunkCount(12, near: 8, multipleOf: 2) == 12)
    #expect(balancedChunkCount(36, near: 8, multipleOf: 2) == 12)  // qkv: 72 panels
    #expect(balancedChunkCount(48, near: 8, multipleOf: 2) == 8)   // fc1: 96 panels
    #expect(balancedChunkCount(7, near: 8, multipleOf: 2) == 7)    // no even divisor: every pair its own chunk
    #expect(balancedChunkCount(3, near: 12, multipleOf: 3) == 3)
    #expect(balancedChunkCount(1, near: 4, multipleOf: 1) == 1)
  }

  @Test func theAVX512KernelIsChosenWhereTheCPUHasIt() {
    // On x86-64 with every x86-64-v4 feature both kernels are available and the wider one is the default
    // (unless TOKENSCOPE_GEMM forces the portable one); elsewhere only the portable kernel exists.
    #expect(GEMMKernel.available.first == .simd8)
    #if arch(x86_64)
    let flags = GEMMKernel.cpuFlags()
    #expect(GEMMKernel.available.contains(.avx512) == (flags.contains("avx512f") && flags.contains("avx512vl")
      && flags.contains("avx512bw") && flags.contains("avx512dq") && flags.contains("avx512cd")))
    #endif
  }

  @Test func expIsAccurate() {
    for x in stride(from: Float(-87), through: 0, by: 0.173) {
      let got = Double(simdExp(SIMD8(repeating: x))[0]), want = exp(Double(x))
      #expect(abs(got - want) <= 4e-7 * want, "exp(\(x)) = \(got), want \(want)")
    }
    #expect(simdExp(SIMD8(repeating: -200)) == SIMD8())
  }

  // MARK: Multi-threaded and blocked GEMM paths

  /// Exact GELU in Double, the oracle for the fused epilogue.
  static func geluReference(_ x: Float) -> Float { Float(0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot()))) }

  @Test("parallel, K-blocked GEMM equals the reference",
        arguments: [(197, 384, 1152), (197, 1536, 384), (1, 7, 1), (7, 13, 5), (13, 385, 17), (197, 769, 33), (50, 48, 200),
                    (6, 16, 16), (3, 1000, 250), (13, 1600, 40), (25, 3100, 33),
                    (197, 800, 32)])  // K past both kernels' K blocks; the last: two panels, A read in place
  func parallelGemmMatchesReference(shape: (Int, Int, Int)) {
    let (m, k, n) = shape
    var rng = SeededRandom(seed: UInt64(m * 7919 + k * 31 + n))
    let x = Matrix(rows: m, cols: k, data: rng.floats(m * k))
    let w = rng.floats(n * k), b = rng.floats(n)
    let want = linearReference(x, weight: w, bias: b, outFeatures: n)
    let layer = LinearLayer(weight: w, bias: b, outFeatures: n, inFeatures: k)
    // Every micro-kernel this CPU runs (the portable SIMD8 one always; the AVX-512 one where present).
    for kernel in GEMMKernel.available {
    for threads in [1, 2, 3] {
      let pool = ThreadPool(threads: threads)
      var out = [Float](repeating: .nan, count: m * n)
      var gelu = [Float](repeating: .nan, count: m * n)
      x.data.withUnsafeBufferPointer { xp in
        out.withUnsafeMutableBufferPointer {
          layer.apply(xp.baseAddress!, rows: m, lda: k, out: $0.baseAddress!, ldc: n, pool: pool, kernel: kernel)
        }
        gelu.withUnsafeMutableBufferPointer {
          layer.apply(xp.baseAddress!, rows: m, lda: k, out: $0.baseAddress!, ldc: n, epilogue: .gelu, pool: pool, kernel: kernel)
        }
      }
      // A read with a row stride past k (attention reads Q and K out of the fused qkv rows): the same product.
      let lda = k + 3
      var padded = [Float](repeating: .nan, count: m * lda)
      for r in 0..<m { for t in 0..<k { padded[r * lda + t] = x.data[r * k + t] } }
      var strided = [Float](repeating: .nan, count: m * n)
      padded.withUnsafeBufferPointer { xp in
        strided.withUnsafeMutableBufferPointer {
          layer.apply(xp.baseAddress!, rows: m, lda: lda, out: $0.baseAddress!, ldc: n, pool: pool, kernel: kernel)
        }
      }
      let tol: Float = 2e-5 * Float(max(1, k / 384))
      expectClose(out, want.data, "\(kernel) gemm \(m)x\(k)x\(n) on \(threads) threads", tolerance: tol)
      expectClose(strided, want.data, "\(kernel) gemm \(m)x\(k)x\(n), lda \(lda), on \(threads) threads", tolerance: tol)
      expectClose(gelu, want.data.map(KernelTests.geluReference), "\(kernel) gemm+gelu \(m)x\(k)x\(n) on \(threads) threads",
                  tolerance: tol)
    }
    }
  }

  @Test func gemmWritesOnlyItsOutputColumns() {
    // ldc > n: the columns past n (another head's slice in attention) must stay untouched.
    var rng = SeededRandom(seed: 11)
    let (m, k, n, ldc) = (13, 20, 10, 24)
    let x = Matrix(rows: m, cols: k, data: rng.floats(m * k))
    let w = rng.floats(n * k)
    let layer = LinearLayer(weight: w, bias: nil, outFeatures: n, inFeatures: k)
    let want = linearReference(x, weight: w, bias: nil, outFeatures: n)
    for kernel in GEMMKernel.available {
      var out = [Float](repeating: 42, count: m * ldc)
      x.data.withUnsafeBufferPointer { xp in
        out.withUnsafeMutableBufferPointer {
          layer.apply(xp.baseAddress!, rows: m, lda: k, out: $0.baseAddress!, ldc: ldc, epilogue: .gelu, kernel: kernel)
        }
      }
      for i in 0..<m {
        expectClose(Array(out[(i * ldc)..<(i * ldc + n)]), want.row(i).map(KernelTests.geluReference), "\(kernel) row \(i)",
                    tolerance: 1e-5)
        #expect(out[(i * ldc + n)..<((i + 1) * ldc)].allSatisfy { $0 == 42 }, "\(kernel) row \(i) wrote past n")
      }
    }
  }

  // MARK: Attention (by heads and row chunks on the pool)

  @Test("attention equals the reference", arguments: [(1, 1, 8), (7, 3, 10), (197, 6, 64), (50, 3, 64), (13, 2, 16)])
  func attentionMatchesReference(shape: (Int, Int, Int)) {
    let (n, heads, d) = shape
    let a = heads * d
    var rng = SeededRandom(seed: UInt64(n * 100 + heads * 10 + d))
    let qkv = Matrix(rows: n, cols: 3 * a, data: rng.floats(n * 3 * a, in: -2...2))
    let sizes = (0..<n).map { _ in Float(1 + rng.next() % 4) }
    let scale = 1 / Double(d).squareRoot()
    for proportional in [false, true] {
      // Reference in Double.
      var probs = [Float](repeating: 0, count: heads * n * n), out = [Float](repeating: 0, count: n * a)
      var entropy = [Float](repeating: 0, count: heads * n)
      for h in 0..<heads {
        for i in 0..<n {
          var logits = (0..<n).map { j -> Double in
            var s = 0.0
            for c in 0..<d { s += Double(qkv[i, h * d + c]) * Double(qkv[j, a + h * d + c]) }
            return s * scale + (proportional ? log(Double(sizes[j])) : 0)
          }
          let mx = logits.max()!
          logits = logits.map { exp($0 - mx) }
          let sum = logits.reduce(0, +)
          var e = 0.0
          for j in 0..<n {
            let p = logits[j] / sum
            probs[(h * n + i) * n + j] = Float(p)
            if p > 0 { e -= p * log(p) }
          }
          entropy[h * n + i] = Float(e)
          for c in 0..<d {
            var s = 0.0
            for j in 0..<n { s += logits[j] / sum * Double(qkv[j, 2 * a + h * d + c]) }
            out[i * a + h * d + c] = Float(s)
          }
        }
      }
      for threads in [1, 2] {
        let result = Attention.multiHead(qkv: qkv, tokens: n, heads: heads, headDim: d,
                                         bias: proportional ? sizes.map { logf($0) } : nil, pool: ThreadPool(threads: threads))
        let (p, attended, rowEntropy) = (result.probabilities, result.attended, result.rowEntropy)
        let what = "attention n=\(n) heads=\(heads) d=\(d) proportional=\(proportional) threads=\(threads)"
        expectClose(p, probs, what + " probabilities", tolerance: 2e-6)
        expectClose(attended.data, out, what + " output", tolerance: 1e-5)
        expectClose(rowEntropy, entropy, what + " entropy", tolerance: 2e-5)
      }
    }
  }

  // MARK: Entropy and log

  @Test func simdLogIsAccurate() {
    var xs: [Float] = [1, 2, 0.5, 0.7071067, 0.7071068, 1.4142135, 1e-30, 3e38, Float.leastNormalMagnitude]
    var v: Float = 1e-20
    while v < 1e20 { xs.append(v); v *= 1.37 }
    for x in xs {
      let got = simdLog(SIMD8(repeating: x))[3], want = log(Double(x))
      #expect(abs(Double(got) - want) <= 2e-7 * max(1, abs(want)), "log(\(x)) = \(got), want \(want)")
    }
  }

  @Test("row entropy equals the reference", arguments: [1, 5, 8, 16, 17, 197])
  func rowEntropyMatchesReference(n: Int) {
    var rng = SeededRandom(seed: UInt64(n) + 5)
    var p = rng.floats(n, in: 0...1)
    if n > 3 { p[1] = 0; p[2] = 1e-30 }  // zeros contribute nothing, tiny values almost nothing
    let sum = p.reduce(0, +)
    p = p.map { $0 / sum }
    let got = p.withUnsafeBufferPointer { entropyOfRow($0.baseAddress!, count: n) }
    let want = p.withUnsafeBufferPointer { AttentionStats.entropyReference($0.baseAddress!, count: n) }
    #expect(abs(Double(got) - want) <= 1e-5, "entropy n=\(n): \(got), want \(want)")
  }

  @Test func posEmbedResampleIsIdentityOnTheSameGrid() {
    var rng = SeededRandom(seed: 3)
    let m = Matrix(rows: 16, cols: 5, data: rng.floats(80))
    #expect(PosEmbedResampler.resample(m, from: GridSize(rows: 4, cols: 4), to: GridSize(rows: 4, cols: 4)) == m)
    // A constant field stays constant (weights are normalised).
    let ones = Matrix(rows: 16, cols: 2, data: [Float](repeating: 1, count: 32))
    let up = PosEmbedResampler.resample(ones, from: GridSize(rows: 4, cols: 4), to: GridSize(rows: 7, cols: 3))
    #expect(up.data.allSatisfy { abs($0 - 1) < 1e-6 })
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
