// `eval --journal FILE`: every finished image's outcome in an SQLite database, one transaction per batch, so a run
// killed at any point (kill -9, a full disk, a power cut) loses at most the batch in flight, and the same command
// resumes where it stopped. WAL mode lets sqlite3 or pandas read the tables while the run writes them.
//
// Tables (README, "Datasets at scale"):
//   identity(key, value)                                   what the journal was written for; another run is refused
//   images(run, image, correct, macs)                      single-pass methods: one row per method and image
//   stages(run, image, stage, confidence, correct, macs, seconds)   cascades: every stage of every image
//   batches(run, images, seconds)                          wall time of each committed batch
//   maps(run, image, truth, states, partition)             --maps: each image's patch states and merge partition
// `run` is the method's canonical spec (cascades: "stages:" and their grids); `image` the dataset index. The maps
// rows are written in the same transaction as their images rows, so a resumed run rebuilds exactly the samples an
// uninterrupted one collects. A journal without them for some images (written without --maps, or before the table
// existed: it is added on open) runs those images again when --maps asks for them, and says so.
import Foundation
import GRDB
import ImageInput
import TokenMethods
import ViTEngine

final class EvalJournal: @unchecked Sendable {
  let path: String
  let batchSize: Int
  private let pool: DatabasePool

  /// Opens or creates the journal at `path` and checks it was written for `identity` (an empty journal takes it).
  init(path: String, identity: [(String, String)], batchSize: Int) throws {
    self.path = path
    self.batchSize = batchSize
    var configuration = Configuration()
    // A committed batch survives a power cut: WAL alone keeps the file consistent, FULL also keeps the last commits.
    configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
    configuration.busyMode = .timeout(10)
    do {
      pool = try DatabasePool(path: path, configuration: configuration)
      try pool.write { db in
        let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        if !tables.isEmpty && !tables.contains("identity") {
          throw CLIError("--journal \(path): an SQLite database, but not a tokenscope eval journal (tables: \(tables.prefix(4).joined(separator: ", ")))", code: CLIError.badData)
        }
        try db.execute(sql: """
          CREATE TABLE IF NOT EXISTS identity (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
          CREATE TABLE IF NOT EXISTS images (run TEXT NOT NULL, image INTEGER NOT NULL, correct INTEGER NOT NULL,
            macs INTEGER NOT NULL, PRIMARY KEY (run, image));
          CREATE TABLE IF NOT EXISTS stages (run TEXT NOT NULL, image INTEGER NOT NULL, stage INTEGER NOT NULL,
            confidence REAL NOT NULL, correct INTEGER NOT NULL, macs INTEGER NOT NULL, seconds REAL NOT NULL,
            PRIMARY KEY (run, image, stage));
          CREATE TABLE IF NOT EXISTS batches (run TEXT NOT NULL, images INTEGER NOT NULL, seconds REAL NOT NULL);
          CREATE TABLE IF NOT EXISTS maps (run TEXT NOT NULL, image INTEGER NOT NULL, truth INTEGER NOT NULL,
            states BLOB NOT NULL, partition BLOB NOT NULL, PRIMARY KEY (run, image));
          """)
        let stored = Dictionary(try Row.fetchAll(db, sql: "SELECT key, value FROM identity").map { ($0["key"] as String, $0["value"] as String) },
                                uniquingKeysWith: { a, _ in a })
        if stored.isEmpty {
          for (key, value) in identity { try db.execute(sql: "INSERT INTO identity (key, value) VALUES (?, ?)", arguments: [key, value]) }
          return
        }
        for (key, value) in identity where stored[key] != value {
          func shown(_ s: String?) -> String {
            guard let s else { return "nothing" }
            let line = s.replacingOccurrences(of: "\n", with: " ")
            return "'" + (line.count > 60 ? line.prefix(57) + "..." : line) + "'"
          }
          throw CLIError("--journal \(path) was written for another run: \(key) \(shown(stored[key])), this run has \(shown(value)) (use a new journal file)", code: CLIError.usage)
        }
      }
    } catch let error as CLIError {
      throw error
    } catch let error as DatabaseError {
      throw EvalJournal.cliError(error, path: path)
    }
  }

  static func cliError(_ error: DatabaseError, path: String) -> CLIError {
    switch error.resultCode {
    case .SQLITE_NOTADB, .SQLITE_CORRUPT:
      return CLIError("--journal \(path): not an SQLite database (\(error.message ?? "\(error.resultCode)"))", code: CLIError.badData)
    case .SQLITE_FULL:
      return CLIError("--journal \(path): the disk is full; the batches committed so far are kept, rerun to resume", code: CLIError.ioError)
    default:
      return CLIError("--journal \(path): \(error.message ?? "\(error.resultCode)")", code: CLIError.ioError)
    }
  }

  func access<T>(_ body: (DatabasePool) throws -> T) throws -> T {
    do { return try body(pool) } catch let error as DatabaseError { throw EvalJournal.cliError(error, path: path) } catch let error as JournalRowError {
      throw CLIError("--journal \(path): \(error.message)", code: CLIError.badData)
    }
  }

  /// What a finished run of `run` recorded, by dataset index (with each image's maps when `maps`), and the wall
  /// seconds of its batches.
  func load<T: JournalRecord>(_ type: T.Type, run: String, maps: Bool) throws -> (records: [Int: T], seconds: Double) {
    try access { pool in
      try pool.read { db in
        (try T.load(db, run: run, maps: maps),
         try Double.fetchOne(db, sql: "SELECT COALESCE(SUM(seconds), 0) FROM batches WHERE run = ?", arguments: [run]) ?? 0)
      }
    }
  }

  /// One batch, in one transaction.
  func record<T: JournalRecord>(run: String, images: [Int], values: [T], seconds: Double) throws {
    try access { pool in
      try pool.write { db in
        for (image, value) in zip(images, values) { try value.insert(db, run: run, image: image) }
        try db.execute(sql: "INSERT INTO batches (run, images, seconds) VALUES (?, ?, ?)", arguments: [run, images.count, seconds])
      }
    }
  }
}

/// A journal row that SQLite read but that cannot be what tokenscope wrote (the message names the row).
struct JournalRowError: Error { let message: String }

/// A per-image outcome the journal can store and read back exactly.
protocol JournalRecord: Sendable {
  /// `maps`: also each image's maps, where the journal has them.
  static func load(_ db: Database, run: String, maps: Bool) throws -> [Int: Self]
  func insert(_ db: Database, run: String, image: Int) throws
  /// Whether the record holds everything this run needs (`maps`: the image's maps too); the others run again.
  func isComplete(maps: Bool) -> Bool
}

extension JournalRecord {
  func isComplete(maps: Bool) -> Bool { true }
}

extension ImageOutcome: JournalRecord {
  static func load(_ db: Database, run: String, maps: Bool) throws -> [Int: ImageOutcome] {
    var out: [Int: ImageOutcome] = [:]
    for row in try Row.fetchAll(db, sql: "SELECT image, correct, macs FROM images WHERE run = ?", arguments: [run]) {
      out[row["image"]] = ImageOutcome(correct: row["correct"], macs: row["macs"])
    }
    guard maps else { return out }
    for row in try Row.fetchAll(db, sql: "SELECT image, truth, states, partition FROM maps WHERE run = ?", arguments: [run]) {
      let image: Int = row["image"]
      guard out[image] != nil else { continue }  // a maps row is only ever written with its images row
      out[image]?.map = try MapSample(journalRow: row, run: run, image: image)
    }
    return out
  }

  func insert(_ db: Database, run: String, image: Int) throws {
    try db.execute(sql: "INSERT OR REPLACE INTO images (run, image, correct, macs) VALUES (?, ?, ?, ?)",
                   arguments: [run, image, correct, macs])
    if let map {
      try db.execute(sql: "INSERT OR REPLACE INTO maps (run, image, truth, states, partition) VALUES (?, ?, ?, ?, ?)",
                     arguments: [run, image, map.truth, Data(map.states), map.partitionBlob])
    }
  }

  func isComplete(maps: Bool) -> Bool { !maps || map != nil }
}

extension MapSample {
  /// The partition as little-endian Int16 when every label fits (token indices: always, below 32,767 tokens), else
  /// Int32; the reader tells them apart by the blob's length against the states'.
  var partitionBlob: Data {
    if partition.allSatisfy({ $0 >= Int32(Int16.min) && $0 <= Int32(Int16.max) }) {
      var bytes = [UInt8](); bytes.reserveCapacity(2 * partition.count)
      for v in partition { let u = UInt16(bitPattern: Int16(v)); bytes += [UInt8(u & 0xFF), UInt8(u >> 8)] }
      return Data(bytes)
    }
    var bytes = [UInt8](); bytes.reserveCapacity(4 * partition.count)
    for v in partition { let u = UInt32(bitPattern: v); bytes += [UInt8(u & 0xFF), UInt8(u >> 8 & 0xFF), UInt8(u >> 16 & 0xFF), UInt8(u >> 24)] }
    return Data(bytes)
  }

  init(journalRow row: Row, run: String, image: Int) throws {
    let states = [UInt8]((row["states"] as Data?) ?? Data()), blob = [UInt8]((row["partition"] as Data?) ?? Data())
    let n = states.count
    guard n > 0, states.allSatisfy({ Int($0) < PatchState.allCases.count }), blob.count == 2 * n || blob.count == 4 * n else {
      throw JournalRowError(message: "the maps row of image \(image) of \(run) is malformed (\(n) states, a \(blob.count)-byte partition; expected states 0-\(PatchState.allCases.count - 1) and 2 or 4 bytes per state)")
    }
    var partition = [Int32](repeating: 0, count: n)
    if blob.count == 2 * n {
      for i in 0..<n { partition[i] = Int32(Int16(bitPattern: UInt16(blob[2 * i]) | UInt16(blob[2 * i + 1]) << 8)) }
    } else {
      for i in 0..<n {
        partition[i] = Int32(bitPattern: UInt32(blob[4 * i]) | UInt32(blob[4 * i + 1]) << 8 | UInt32(blob[4 * i + 2]) << 16 | UInt32(blob[4 * i + 3]) << 24)
      }
    }
    self.init(truth: row["truth"], states: states, partition: partition)
  }
}

extension Array: JournalRecord where Element == StageRecord {
  static func load(_ db: Database, run: String, maps: Bool) throws -> [Int: [StageRecord]] {
    var out: [Int: [StageRecord]] = [:]
    let rows = try Row.fetchAll(db, sql: "SELECT image, stage, confidence, correct, macs, seconds FROM stages WHERE run = ? ORDER BY image, stage",
                                arguments: [run])
    for row in rows {
      // Stored as REAL (a double), which holds every Float exactly.
      let record = StageRecord(confidence: Float(row["confidence"] as Double), correct: row["correct"], macs: row["macs"], seconds: row["seconds"])
      out[row["image"], default: []].append(record)
    }
    return out
  }

  func insert(_ db: Database, run: String, image: Int) throws {
    for (stage, r) in enumerated() {
      try db.execute(sql: "INSERT OR REPLACE INTO stages (run, image, stage, confidence, correct, macs, seconds) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     arguments: [run, image, stage, Double(r.confidence), r.correct, r.macs, r.seconds])
    }
  }
}

extension EvalJournal {
  /// With `maps`, forgets the images of `run` journaled without their maps, so they run again (a note on stderr says
  /// how many): the maps then cover every image.
  func dropImagesWithoutMaps<T: JournalRecord>(_ done: inout [Int: T], indices: [Int], run: String, maps: Bool) {
    let lacking = indices.filter { done[$0].map { !$0.isComplete(maps: maps) } ?? false }
    guard !lacking.isEmpty else { return }
    FileHandle.standardError.write(Data(("--journal \(path): \(lacking.count) images of \(run) have no maps there (journaled "
      + "without --maps, or by a tokenscope without the maps table); running them again for --maps\n").utf8))
    for i in lacking { done[i] = nil }
  }
}

extension EvalContext {
  /// `forEachImage` through the journal when there is one: images it already holds for `run` are read back, the rest
  /// run in batches of `journal.batchSize`, each committed as it finishes. Seconds: the batches' wall time, summed
  /// over every session that ran them.
  /// With `maps`, images journaled without their maps run again (a note on stderr says how many), so the maps cover
  /// every image.
  func journaledImages<T: JournalRecord>(_ indices: [Int], run: String, label: String, maps: Bool = false,
                                         _ body: @escaping @Sendable (ModelImage, Int) throws -> T) throws -> (results: [T], seconds: Double) {
    guard let journal else { return try forEachImage(indices, label: label, body) }
    var (done, seconds) = try journal.load(T.self, run: run, maps: maps)
    journal.dropImagesWithoutMaps(&done, indices: indices, run: run, maps: maps)
    let todo = indices.filter { done[$0] == nil }
    let progress = ProgressBar(total: indices.count, label: label)
    progress.advance(by: indices.count - todo.count, resumed: true)
    var start = 0
    while start < todo.count {
      let batch = Array(todo[start..<min(start + journal.batchSize, todo.count)])
      let (values, s) = try forEachImage(batch, label: label, progress: progress, body)
      try journal.record(run: run, images: batch, values: values, seconds: s)
      for (i, v) in zip(batch, values) { done[i] = v }
      seconds += s
      start += batch.count
    }
    progress.finish()
    return (try indices.map { i in
      guard let v = done[i] else { throw CLIError("--journal \(journal.path): image \(i) of \(run) is missing after the run", code: CLIError.badData) }
      return v
    }, seconds)
  }
}
