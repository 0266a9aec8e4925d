// `eval --maps DIR`: what each method does to each patch position over a whole dataset, and how far methods agree.
//
// Per method, counts[layer][state][patch] of images in which that patch was kept / merged / fused / pruned / idle at
// the end of that block (rates = counts / images), per-class counts of "kept", and for every pair of methods the
// sums over images of the IoU of their kept patch sets and the adjusted Rand index of their merge partitions at each
// block. Everything is a count or a sum, so shards add up (`--merge` with `--maps` redraws the merged figures).
// Agreement needs every method's per-image states at once: they are held in memory, 3 bytes per patch, block,
// image and method (Fashion-MNIST, 49 patches x 12 blocks x 10,000 images: 18 MB per method).
import Figures
import Foundation
import ImageIO
import ViTEngine

/// One image's states and merge partition at the end of each block, patches row-major.
struct MapSample: Sendable {
  let truth: Int
  /// [layer * patches + patch]: PatchState's index in `PatchState.allCases`.
  let states: [UInt8]
  /// [layer * patches + patch]: the token holding the patch (-1: dropped).
  let partition: [Int32]

  init(pass: ForwardPass, truth: Int) {
    self.truth = truth
    var states: [UInt8] = [], partition: [Int32] = []
    for record in pass.records {
      states += record.output.patchState.map { UInt8(PatchState.allCases.firstIndex(of: $0)!) }
      partition += record.output.patchToken
    }
    self.states = states
    self.partition = partition
  }
}

/// Collects samples from the workers, per method, in evaluation order.
final class MapSink: @unchecked Sendable {
  private let lock = NSLock()
  private(set) var methods: [(method: String, grid: GridSize, samples: [MapSample])] = []
  func add(_ method: String, grid: GridSize, _ samples: [MapSample]) { lock.withLock { methods.append((method, grid, samples)) } }
}

struct DatasetMaps {
  struct Method {
    var method: String
    var images: Int
    /// [layer][state][patch]
    var counts: [[[Int]]]
    /// class -> (images, kept[layer][patch])
    var classes: [Int: (images: Int, kept: [[Int]])]
  }
  struct Pair {
    var a: String, b: String
    var images: Int
    var iouSum: [Double], ariSum: [Double]
  }
  var grid: GridSize
  var layers: Int
  var methods: [Method]
  var pairs: [Pair]
  /// Methods left out (a cascade's grid changes per image).
  var skipped: [String] = []

  static let stateNames = PatchState.allCases.map(\.rawValue)

  init(grid: GridSize, layers: Int, methods: [Method], pairs: [Pair], skipped: [String]) {
    self.grid = grid; self.layers = layers; self.methods = methods; self.pairs = pairs; self.skipped = skipped
  }

  init(sink: MapSink, native: GridSize, skipped: [String], progress: Bool = true) {
    let runs = sink.methods.filter { $0.grid == native && !$0.samples.isEmpty }
    let patches = native.count
    let layers = runs.first?.samples.first.map { $0.states.count / max(patches, 1) } ?? 0
    let states = PatchState.allCases.count
    var methods: [Method] = []
    for run in runs {
      var counts = [[[Int]]](repeating: [[Int]](repeating: [Int](repeating: 0, count: patches), count: states), count: layers)
      var classes: [Int: (images: Int, kept: [[Int]])] = [:]
      for s in run.samples {
        var entry = classes[s.truth] ?? (0, [[Int]](repeating: [Int](repeating: 0, count: patches), count: layers))
        entry.images += 1
        for l in 0..<layers {
          for p in 0..<patches {
            let state = Int(s.states[l * patches + p])
            counts[l][state][p] += 1
            if state == 0 { entry.kept[l][p] += 1 }
          }
        }
        classes[s.truth] = entry
      }
      methods.append(Method(method: run.method, images: run.samples.count, counts: counts, classes: classes))
    }
    var pairs: [Pair] = []
    let bar = ProgressBar(total: runs.count * (runs.count - 1) / 2, label: "maps: agreement", unit: "pairs")
    for i in 0..<runs.count {
      for j in (i + 1)..<runs.count {
        var iou = [Double](repeating: 0, count: layers), ari = [Double](repeating: 0, count: layers)
        for (x, y) in zip(runs[i].samples, runs[j].samples) {
          for l in 0..<layers {
            let range = (l * patches)..<((l + 1) * patches)
            iou[l] += Agreement.iou(x.states[range], y.states[range])
            ari[l] += Agreement.adjustedRand(x.partition[range], y.partition[range])
          }
        }
        pairs.append(Pair(a: runs[i].method, b: runs[j].method, images: min(runs[i].samples.count, runs[j].samples.count), iouSum: iou, ariSum: ari))
        if progress { bar.advance() }
      }
    }
    bar.finish()
    self.init(grid: native, layers: layers, methods: methods, pairs: pairs,
              skipped: skipped + sink.methods.filter { $0.grid != native }.map(\.method))
  }

  var json: JSONValue {
    func ints(_ a: [Int]) -> JSONValue { .array(a.map { JSONValue($0) }) }
    return .object([
      ("grid", .array([JSONValue(grid.rows), JSONValue(grid.cols)])), ("layers", JSONValue(layers)),
      ("states", .array(Self.stateNames.map { .string($0) })),
      ("methods", .array(methods.map { m in
        .object([("method", .string(m.method)), ("images", JSONValue(m.images)),
                 ("counts", .array(m.counts.map { .array($0.map(ints)) })),
                 ("classes", .array(m.classes.keys.sorted().map { c in
                   .object([("class", JSONValue(c)), ("images", JSONValue(m.classes[c]!.images)), ("kept", .array(m.classes[c]!.kept.map(ints)))])
                 }))])
      })),
      ("agreement", .array(pairs.map { p in
        .object([("a", .string(p.a)), ("b", .string(p.b)), ("images", JSONValue(p.images)),
                 ("iou_sum", .array(p.iouSum.map { .number($0) })), ("ari_sum", .array(p.ariSum.map { .number($0) })),
                 ("iou_mean", .array(p.iouSum.map { .number(p.images > 0 ? $0 / Double(p.images) : 0) })),
                 ("ari_mean", .array(p.ariSum.map { .number(p.images > 0 ? $0 / Double(p.images) : 0) }))])
      })),
      ("skipped", .array(skipped.map { .string($0) })),
    ])
  }

  /// Reads the `maps` member of an eval JSON (a shard's, for --merge).
  init(json: JSONValue, path: String) throws {
    func bad(_ what: String) -> CLIError { CLIError("--merge \(path): maps: \(what) is missing or malformed", code: CLIError.badData) }
    func ints(_ v: JSONValue?) throws -> [Int] {
      guard let a = v?.arrayValue else { throw bad("a count list") }
      return try a.map { guard let i = $0.intValue else { throw bad("a count") }; return i }
    }
    guard let g = json["grid"]?.arrayValue, g.count == 2, let rows = g[0].intValue, let cols = g[1].intValue, let layers = json["layers"]?.intValue else { throw bad("grid or layers") }
    var methods: [Method] = []
    for m in json["methods"]?.arrayValue ?? [] {
      guard let name = m["method"]?.stringValue, let images = m["images"]?.intValue, let counts = m["counts"]?.arrayValue else { throw bad("a method") }
      var classes: [Int: (images: Int, kept: [[Int]])] = [:]
      for c in m["classes"]?.arrayValue ?? [] {
        guard let k = c["class"]?.intValue, let n = c["images"]?.intValue, let kept = c["kept"]?.arrayValue else { throw bad("a class") }
        classes[k] = (n, try kept.map { try ints($0) })
      }
      methods.append(Method(method: name, images: images, counts: try counts.map { l in try (l.arrayValue ?? []).map { try ints($0) } }, classes: classes))
    }
    var pairs: [Pair] = []
    for p in json["agreement"]?.arrayValue ?? [] {
      guard let a = p["a"]?.stringValue, let b = p["b"]?.stringValue, let n = p["images"]?.intValue,
            let iou = p["iou_sum"]?.arrayValue?.compactMap(\.doubleValue), let ari = p["ari_sum"]?.arrayValue?.compactMap(\.doubleValue) else { throw bad("an agreement pair") }
      pairs.append(Pair(a: a, b: b, images: n, iouSum: iou, ariSum: ari))
    }
    self.init(grid: GridSize(rows: rows, cols: cols), layers: layers, methods: methods, pairs: pairs,
              skipped: (json["skipped"]?.arrayValue ?? []).compactMap(\.stringValue))
  }

  /// The shards' maps added up.
  static func merged(_ parts: [DatasetMaps]) throws -> DatasetMaps {
    guard var out = parts.first else { throw CLIError("--merge --maps: no shard has maps (run the shards with --maps)", code: CLIError.badData) }
    for part in parts.dropFirst() {
      guard part.grid == out.grid, part.layers == out.layers, part.methods.map(\.method) == out.methods.map(\.method),
            part.pairs.map({ $0.a + "\n" + $0.b }) == out.pairs.map({ $0.a + "\n" + $0.b }) else {
        throw CLIError("--merge: the shards' maps cover different grids, blocks or methods", code: CLIError.badData)
      }
      for (i, m) in part.methods.enumerated() {
        out.methods[i].images += m.images
        for l in 0..<out.layers { for s in 0..<m.counts[l].count { for p in 0..<m.counts[l][s].count { out.methods[i].counts[l][s][p] += m.counts[l][s][p] } } }
        for (c, v) in m.classes {
          var e = out.methods[i].classes[c] ?? (0, v.kept.map { $0.map { _ in 0 } })
          e.images += v.images
          for l in 0..<v.kept.count { for p in 0..<v.kept[l].count { e.kept[l][p] += v.kept[l][p] } }
          out.methods[i].classes[c] = e
        }
      }
      for (i, p) in part.pairs.enumerated() {
        out.pairs[i].images += p.images
        out.pairs[i].iouSum = zip(out.pairs[i].iouSum, p.iouSum).map { $0 + $1 }
        out.pairs[i].ariSum = zip(out.pairs[i].ariSum, p.ariSum).map { $0 + $1 }
      }
    }
    return out
  }

  /// maps.json, one state grid per method (PNG and SVG), per-class kept maps, and the agreement matrices.
  func write(to dir: String, title: String) throws {
    do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
      throw CLIError("--maps \(dir): cannot create the folder: \(error.localizedDescription)", code: CLIError.ioError)
    }
    func save(_ bytes: [UInt8], _ name: String) throws {
      do { try AtomicFile.write(bytes, to: "\(dir)/\(name)") } catch { throw CLIError("cannot write \(dir)/\(name): \(error)", code: CLIError.ioError) }
    }
    try save(Array(json.serialized().utf8), "maps.json")
    let patches = grid.count
    for (k, m) in methods.enumerated() {
      let n = Double(max(m.images, 1))
      let rates = (0..<Self.stateNames.count).map { s in (0..<layers).map { l in (0..<patches).map { p in Double(m.counts[l][s][p]) / n } } }
      let figure = DatasetMapFigure.Grid(title: "\(m.method): mean patch state per block, \(m.images) images of \(title)",
                                         rowNames: Self.stateNames, rates: rates, gridRows: grid.rows, gridCols: grid.cols)
      let stem = String(format: "method-%02d", k + 1)
      try save(try PNGWriter.encode(DatasetMapFigure.png(figure)), stem + ".png")
      try save(Array(DatasetMapFigure.svg(figure).utf8), stem + ".svg")
      let classes = m.classes.keys.sorted()
      if !classes.isEmpty {
        let kept = classes.map { c in (0..<layers).map { l in (0..<patches).map { p in Double(m.classes[c]!.kept[l][p]) / Double(max(m.classes[c]!.images, 1)) } } }
        let perClass = DatasetMapFigure.Grid(title: "\(m.method): kept rate per class (rows) and block (columns)",
                                             rowNames: classes.map { "class \($0)" }, rates: kept, gridRows: grid.rows, gridCols: grid.cols)
        try save(try PNGWriter.encode(DatasetMapFigure.png(perClass)), stem + "-classes.png")
      }
    }
    let names = methods.map(\.method)
    if names.count > 1 {
      func matrix(_ value: (Pair) -> [Double]) -> [[Double?]] {
        names.indices.map { i in names.indices.map { j -> Double? in
          if i == j { return 1 }
          guard let p = pairs.first(where: { ($0.a, $0.b) == (names[i], names[j]) || ($0.a, $0.b) == (names[j], names[i]) }), p.images > 0 else { return nil }
          let v = value(p)
          return v.reduce(0, +) / Double(max(v.count, 1)) / Double(p.images)
        } }
      }
      let figure = DatasetMapFigure.Matrix(title: "Agreement between methods, mean over blocks and images (\(title))", names: names,
                                           panels: [("IoU of kept patches", matrix(\.iouSum)), ("adjusted Rand index of merge partitions", matrix(\.ariSum))])
      try save(try PNGWriter.encode(DatasetMapFigure.png(figure)), "agreement.png")
      try save(Array(DatasetMapFigure.svg(figure).utf8), "agreement.svg")
    }
    FileHandle.standardError.write(Data("wrote \(dir)/maps.json and \(methods.count) method figures\n".utf8))
  }
}

enum Agreement {
  /// IoU of the patches kept (state index 0) in both; two empty sets agree fully.
  static func iou(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Double {
    var both = 0, either = 0
    for (x, y) in zip(a, b) {
      let kx = x == 0, ky = y == 0
      if kx && ky { both += 1 }
      if kx || ky { either += 1 }
    }
    return either == 0 ? 1 : Double(both) / Double(either)
  }

  /// Hubert and Arabie's adjusted Rand index of two partitions of the same patches (labels: the holding token;
  /// dropped patches, -1, each form a cluster of their own). Partitions with nothing to adjust for (both all
  /// singletons, or both one cluster) score 1, as scikit-learn's adjusted_rand_score does.
  static func adjustedRand(_ a: ArraySlice<Int32>, _ b: ArraySlice<Int32>) -> Double {
    let n = a.count
    guard n > 1 else { return 1 }
    // Contingency counts by sorting combined keys (49 to 196 patches: cheaper than hashing).
    var x = [Int64](repeating: 0, count: n), y = x, xy = x
    for (i, (u, v)) in zip(a, b).enumerated() {
      x[i] = u >= 0 ? Int64(u) : -1 - Int64(i)
      y[i] = v >= 0 ? Int64(v) : -1 - Int64(i)
      xy[i] = (x[i] + Int64(n) + 1) << 32 | (y[i] + Int64(n) + 1)
    }
    func pairs(_ k: Int) -> Double { Double(k * (k - 1) / 2) }
    func runPairs(_ keys: inout [Int64]) -> Double {
      keys.sort()
      var total = 0.0, run = 1
      for i in 1..<keys.count {
        if keys[i] == keys[i - 1] { run += 1 } else { total += pairs(run); run = 1 }
      }
      return total + pairs(run)
    }
    let index = runPairs(&xy), sumA = runPairs(&x), sumB = runPairs(&y)
    let expected = sumA * sumB / pairs(n)
    let maximum = (sumA + sumB) / 2
    if maximum == expected { return 1 }
    return (index - expected) / (maximum - expected)
  }
}
