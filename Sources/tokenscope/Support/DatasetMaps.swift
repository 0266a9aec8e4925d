// `eval --maps DIR`: the command line's side of the dataset maps (the data, its JSON and its merge are
// `DatasetMaps` in TokenMethods, which the explorer reads too): collecting every image's states from the workers,
// the progress bar of the agreement step, the errors' exit codes, and writing maps.json and the figures.
// Agreement needs every method's per-image states at once: they are held in memory, 5 bytes per patch, block, image
// and method (Fashion-MNIST, 196 patches x 12 blocks x 10,000 images: 118 MB per method).
import Figures
import Foundation
import ImageIO
import TokenMethods
import ViTEngine

/// Collects samples from the workers, per method, in evaluation order.
final class MapSink: @unchecked Sendable {
  private let lock = NSLock()
  private(set) var methods: [(method: String, grid: GridSize, samples: [MapSample])] = []
  func add(_ method: String, grid: GridSize, _ samples: [MapSample]) { lock.withLock { methods.append((method, grid, samples)) } }
}

extension DatasetMaps {
  /// The maps of the sink's runs at the `native` grid (runs on other grids are listed as skipped), with a progress bar
  /// over the agreement pairs.
  init(sink: MapSink, native: GridSize, skipped: [String]) {
    let runs = sink.methods.filter { $0.grid == native && !$0.samples.isEmpty }
    let bar = ProgressBar(total: runs.count * (runs.count - 1) / 2, label: "maps: agreement", unit: "pairs")
    self.init(runs: runs.map { ($0.method, $0.samples) }, grid: native,
              skipped: skipped + sink.methods.filter { $0.grid != native }.map(\.method), pairDone: { bar.advance() })
    bar.finish()
  }

  /// Reads the `maps` member of a shard's eval JSON (--merge).
  init(json: JSONValue, path: String) throws {
    do { try self.init(json: json) } catch { throw CLIError("--merge \(path): maps: \(error.message)", code: CLIError.badData) }
  }

  /// The shards' maps added up.
  static func mergedShards(_ parts: [DatasetMaps]) throws -> DatasetMaps {
    guard !parts.isEmpty else { throw CLIError("--merge --maps: no shard has maps (run the shards with --maps)", code: CLIError.badData) }
    guard let out = merged(parts) else { throw CLIError("--merge: the shards' maps cover different grids, blocks or methods", code: CLIError.badData) }
    return out
  }

  /// A maps file for the explorer (`explore --maps FILE`), its errors as exit codes: 66 missing, 65 anything else.
  static func readForCLI(path: String) throws -> DatasetMaps {
    do { return try read(path: path) } catch { throw CLIError(error.message, code: error.isMissing ? CLIError.noInput : CLIError.badData) }
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
