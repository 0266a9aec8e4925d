// Progress of a long job (eval, sweep, merge, maps, prune, calibration) on stderr. On a terminal: one bar redrawn in
// place with images/s and the ETA. Off a terminal, or when stdout carries JSON that a script parses: a plain line
// now and then (every `plainInterval` seconds), so cluster logs show the job is alive without filling up.
import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

final class ProgressBar: @unchecked Sendable {
  /// Set by commands whose stdout is machine-read (`--format json`): plain lines even on a terminal.
  nonisolated(unsafe) static var plainOnly = false
  /// Seconds between plain lines; TOKENSCOPE_PROGRESS_SECONDS overrides it (0: a line at every step).
  static let plainInterval: Double = ProcessInfo.processInfo.environment["TOKENSCOPE_PROGRESS_SECONDS"].flatMap(Double.init) ?? 30

  private let lock = NSLock()
  private let total: Int, label: String, unit: String
  private var done = 0, skipped = 0, lastDrawn = -1
  private let terminal: Bool
  private let start = DispatchTime.now().uptimeNanoseconds
  private var lastLine: UInt64

  init(total: Int, label: String, unit: String = "images") {
    self.total = total; self.label = label; self.unit = unit
    terminal = isatty(2) == 1 && !ProgressBar.plainOnly
    lastLine = start
  }

  /// `resumed`: work found already done (a journal), counted in the bar but not in the rate.
  func advance(by n: Int = 1, resumed: Bool = false) {
    guard n > 0 else { return }
    lock.withLock {
      done += n
      if resumed { skipped += n }
      let now = DispatchTime.now().uptimeNanoseconds
      let elapsed = Double(now - start) / 1e9
      let rate = elapsed > 0 ? Double(done - skipped) / elapsed : 0
      let eta = rate > 0 ? Double(total - done) / rate : 0
      if terminal {
        let permille = total > 0 ? done * 1000 / total : 1000
        guard permille / 5 != lastDrawn || done == total else { return }
        lastDrawn = permille / 5
        let filled = permille * 30 / 1000
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
        FileHandle.standardError.write(Data("\r\u{1B}[K[\(bar)] \(done)/\(total) \(ProgressBar.rate(rate, unit)) ETA \(ProgressBar.clock(eta)) \(label)".utf8))
      } else if Double(now - lastLine) / 1e9 >= ProgressBar.plainInterval && done < total {
        lastLine = now
        FileHandle.standardError.write(Data("\(label): \(done)/\(total) \(unit), \(ProgressBar.rate(rate, unit)), ETA \(ProgressBar.clock(eta))\n".utf8))
      }
    }
  }

  func finish() {
    guard terminal else { return }
    FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
  }

  static func rate(_ perSecond: Double, _ unit: String) -> String {
    perSecond >= 10 ? "\(Int(perSecond.rounded())) \(unit)/s" : String(format: "%.2f \(unit)/s", perSecond)
  }

  /// h:mm:ss, or m:ss under an hour.
  static func clock(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
  }
}
