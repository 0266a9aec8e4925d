// Dataset maps (`eval --maps DIR`, read back by the explorer's plots page): what each method does to each patch
// position over a whole dataset, and how far methods agree.
//
// Per method, counts[layer][state][patch] of images in which that patch was kept / merged / fused / pruned / idle at
// the end of that block (rates = counts / images), per-class counts of "kept", and for every pair of methods the
// sums over images of the IoU of their kept patch sets and the adjusted Rand index of their merge partitions at each
// block. Everything is a count or a sum, so shards add up (`eval --merge` with `--maps`). This file is the data and
// its one JSON form (maps.json, and the `maps` member of an eval JSON); the command line draws and writes the figures.
import ViTEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One image's states and merge partition at the end of each block, patches row-major.
public struct MapSample: Sendable, Equatable {
  public let truth: Int
  /// [layer * patches + patch]: PatchState's index in `PatchState.allCases`.
  public let states: [UInt8]
  /// [layer * patches + patch]: the token holding the patch (-1: dropped).
  public let partition: [Int32]

  public init(truth: Int, states: [UInt8], partition: [Int32]) {
    self.truth = truth; self.states = states; self.partition = partition
  }

  public init(pass: ForwardPass, truth: Int) {
    var states: [UInt8] = [], partition: [Int32] = []
    for record in pass.records {
      states += record.output.patchState.map { UInt8(PatchState.allCases.firstIndex(of: $0)!) }
      partition += record.output.patchToken
    }
    self.init(truth: truth, states: states, partition: partition)
  }
}

/// Why a maps file or member was refused: one line naming the file (or member) and what was expected.
public struct DatasetMapsError: Error, Sendable, CustomStringConvertible {
  public let message: String
  /// The file is not there (the command line's exit 66; everything else is bad data, 65).
  public let isMissing: Bool
  public var description: String { message }
  public init(_ message: String, isMissing: Bool = false) { self.message = message; self.isMissing = isMissing }
}

public struct DatasetMaps: Sendable {
  public struct Method: Sendable {
    /// The method's canonical spec, as eval printed it.
    public var method: String
    public var images: Int
    /// [layer][state][patch]
    public var counts: [[[Int]]]
    /// class -> (images, kept[layer][patch])
    public var classes: [Int: (images: Int, kept: [[Int]])]

    public init(method: String, images: Int, counts: [[[Int]]], classes: [Int: (images: Int, kept: [[Int]])]) {
      self.method = method; self.images = images; self.counts = counts; self.classes = classes
    }
  }
  public struct Pair: Sendable {
    public var a: String, b: String
    public var images: Int
    public var iouSum: [Double], ariSum: [Double]

    public init(a: String, b: String, images: Int, iouSum: [Double], ariSum: [Double]) {
      self.a = a; self.b = b; self.images = images; self.iouSum = iouSum; self.ariSum = ariSum
    }
  }
  public var grid: GridSize
  public var layers: Int
  public var methods: [Method]
  public var pairs: [Pair]
  /// Methods left out (a cascade's grid changes per image).
  public var skipped: [String] = []

  public static let stateNames = PatchState.allCases.map(\.rawValue)

  public init(grid: GridSize, layers: Int, methods: [Method], pairs: [Pair], skipped: [String]) {
    self.grid = grid; self.layers = layers; self.methods = methods; self.pairs = pairs; self.skipped = skipped
  }

  /// The maps of `runs` (every sample on `grid`, in evaluation order); `pairDone` is called after each pair of methods'
  /// agreement (the slow part: the command line's progress bar).
  public init(runs: [(method: String, samples: [MapSample])], grid: GridSize, skipped: [String], pairDone: () -> Void = {}) {
    let runs = runs.filter { !$0.samples.isEmpty }
    let patches = grid.count
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
        pairDone()
      }
    }
    self.init(grid: grid, layers: layers, methods: methods, pairs: pairs, skipped: skipped)
  }

  public var json: JSONValue {
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

  /// Reads maps in `json`'s form. Every count list is checked against the grid and the block count, so a file cut or
  /// edited by hand is refused here rather than drawn or added up wrong. The error names the part at fault; the
  /// caller says which file it came from.
  public init(json: JSONValue) throws(DatasetMapsError) {
    func bad(_ what: String) -> DatasetMapsError { DatasetMapsError("\(what) is missing or malformed") }
    func ints(_ v: JSONValue?, _ count: Int, _ what: String) throws(DatasetMapsError) -> [Int] {
      guard let a = v?.arrayValue, a.count == count else { throw bad(what) }
      var out: [Int] = []
      for x in a {
        guard let i = x.intValue, i >= 0 else { throw bad(what) }
        out.append(i)
      }
      return out
    }
    func doubles(_ v: JSONValue?, _ count: Int, _ what: String) throws(DatasetMapsError) -> [Double] {
      guard let a = v?.arrayValue, a.count == count else { throw bad(what) }
      var out: [Double] = []
      for x in a {
        guard let d = x.doubleValue else { throw bad(what) }
        out.append(d)
      }
      return out
    }
    guard let g = json["grid"]?.arrayValue, g.count == 2, let rows = g[0].intValue, let cols = g[1].intValue, rows > 0, cols > 0,
          let layers = json["layers"]?.intValue, layers >= 0 else { throw bad("grid or layers") }
    let patches = rows * cols
    if let names = json["states"] {
      guard let list = names.arrayValue, list.map({ $0.stringValue ?? "" }) == Self.stateNames else {
        throw DatasetMapsError("states must be \(Self.stateNames.joined(separator: ", ")) in that order")
      }
    }
    guard let methodList = json["methods"]?.arrayValue else { throw bad("the method list") }
    var methods: [Method] = []
    for m in methodList {
      guard let name = m["method"]?.stringValue, let images = m["images"]?.intValue, images >= 0,
            let counts = m["counts"]?.arrayValue, counts.count == layers else { throw bad("a method") }
      let what = "the counts of \(name) (blocks x states x patches = \(layers) x \(Self.stateNames.count) x \(patches))"
      var table: [[[Int]]] = []
      for layer in counts {
        guard let perState = layer.arrayValue, perState.count == Self.stateNames.count else { throw bad(what) }
        var byState: [[Int]] = []
        for s in perState { byState.append(try ints(s, patches, what)) }
        table.append(byState)
      }
      var classes: [Int: (images: Int, kept: [[Int]])] = [:]
      for c in m["classes"]?.arrayValue ?? [] {
        let what = "a class of \(name) (blocks x patches kept = \(layers) x \(patches))"
        guard let k = c["class"]?.intValue, let n = c["images"]?.intValue, let kept = c["kept"]?.arrayValue, kept.count == layers else { throw bad(what) }
        var byLayer: [[Int]] = []
        for l in kept { byLayer.append(try ints(l, patches, what)) }
        classes[k] = (n, byLayer)
      }
      methods.append(Method(method: name, images: images, counts: table, classes: classes))
    }
    var pairs: [Pair] = []
    for p in json["agreement"]?.arrayValue ?? [] {
      guard let a = p["a"]?.stringValue, let b = p["b"]?.stringValue, let n = p["images"]?.intValue else { throw bad("an agreement pair") }
      let what = "the agreement of \(a) and \(b) (\(layers) sums each)"
      pairs.append(Pair(a: a, b: b, images: n, iouSum: try doubles(p["iou_sum"], layers, what), ariSum: try doubles(p["ari_sum"], layers, what)))
    }
    self.init(grid: GridSize(rows: rows, cols: cols), layers: layers, methods: methods, pairs: pairs,
              skipped: (json["skipped"]?.arrayValue ?? []).compactMap(\.stringValue))
  }

  /// The maps in a file: a maps.json (`eval --maps DIR`, or DIR itself) or an eval JSON with a `maps` member
  /// (`eval --maps DIR --format json`, or `eval --merge ... --maps DIR`).
  public static func read(path: String) throws(DatasetMapsError) -> DatasetMaps {
    guard access(path, F_OK) == 0 else {
      throw DatasetMapsError("\(path): no such file (expected a maps.json from eval --maps DIR)", isMissing: true)
    }
    let file = file(for: path)
    guard access(file, F_OK) == 0 else {
      throw DatasetMapsError("\(path): a folder without maps.json (expected the folder eval --maps wrote, or its maps.json)", isMissing: true)
    }
    // maps.json of 7 methods on a 14x14 grid is about 1 MB; 256 MiB leaves room for large grids and many methods.
    guard let bytes = readSmallFile(file, limit: 256 << 20) else {
      throw DatasetMapsError("\(file): cannot read the file (unreadable or larger than 256 MiB)")
    }
    let json: JSONValue
    do { json = try JSONParser.parse(bytes) } catch {
      throw DatasetMapsError("\(file): not a maps file (\(error)); expected a maps.json from eval --maps DIR")
    }
    let member: JSONValue
    if json["grid"] != nil && json["methods"] != nil {
      member = json
    } else if let maps = json["maps"], maps != .null {
      member = maps
    } else if json["results"] != nil {
      throw DatasetMapsError("\(file): an eval result without maps (expected one from eval --maps DIR --format json, or DIR/maps.json)")
    } else {
      throw DatasetMapsError("\(file): no maps in it (expected a maps.json from eval --maps DIR, or an eval JSON with a maps member)")
    }
    do { return try DatasetMaps(json: member) } catch { throw DatasetMapsError("\(file): maps: \(error.message)") }
  }

  /// The file `read(path:)` reads for `path`: a folder's maps.json (the folder eval --maps wrote), else `path`.
  public static func file(for path: String) -> String {
    isDirectory(path) ? (path.hasSuffix("/") ? path : path + "/") + "maps.json" : path
  }

  private static func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
  }

  /// The shards' maps added up; nil when they cover different grids, blocks, methods or pairs.
  public static func merged(_ parts: [DatasetMaps]) -> DatasetMaps? {
    guard var out = parts.first else { return nil }
    for part in parts.dropFirst() {
      guard part.grid == out.grid, part.layers == out.layers, part.methods.map(\.method) == out.methods.map(\.method),
            part.pairs.map({ $0.a + "\n" + $0.b }) == out.pairs.map({ $0.a + "\n" + $0.b }) else { return nil }
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

  /// The maps of `spec`: the method stored under its canonical form, else one whose stored spec parses to an equal
  /// spec (a file written before a parameter's canonical spelling changed).
  public func method(for spec: MethodSpec) -> Method? {
    methods.first { $0.method == spec.canonical } ?? methods.first { (try? MethodSpec.parse($0.method)) == spec }
  }
}

extension DatasetMaps.Method {
  /// rates[state][patch] at `layer`: the share of the images in which the patch was in that state.
  public func rates(layer: Int) -> [[Double]] {
    let n = Double(max(images, 1))
    return counts[layer].map { $0.map { Double($0) / n } }
  }

  /// The state this method most often puts patches in at `layer`, other than kept; kept where it changes nothing there.
  public func dominantChange(layer: Int) -> PatchState {
    let totals = counts[layer].map { $0.reduce(0, +) }
    // Ties go to the earlier state in PatchState's order (max keeps the first of equals).
    let best = (1..<totals.count).max { totals[$0] < totals[$1] }
    guard let best, totals[best] > 0 else { return .kept }
    return PatchState.allCases[best]
  }
}

/// Agreement between two methods' per-image maps at one block.
public enum Agreement {
  /// IoU of the patches kept (state index 0) in both; two empty sets agree fully.
  public static func iou(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Double {
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
  public static func adjustedRand(_ a: ArraySlice<Int32>, _ b: ArraySlice<Int32>) -> Double {
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
