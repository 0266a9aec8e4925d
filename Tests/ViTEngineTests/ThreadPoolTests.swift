// The engine's thread pool: every task runs exactly once, callers never see a task of another job, a busy pool falls
// back to the calling thread, and pools can be replaced while in use.
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import TestSupport
@testable import ViTEngine

@Suite("ThreadPool")
struct ThreadPoolTests {
  @Test("every task runs exactly once", arguments: [1, 2, 3, 4])
  func everyTaskOnce(threads: Int) {
    let pool = ThreadPool(threads: threads)
    for tasks in [0, 1, 2, 3, 7, 64, 1000] {
      for _ in 0..<20 {
        // Each task writes only its own slot, so plain integers suffice.
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: max(tasks, 1))
        counts.initialize(repeating: 0, count: max(tasks, 1))
        let p = SendablePointer(counts)
        pool.parallelFor(tasks) { t in p.p[t] += 1 }
        for i in 0..<tasks { #expect(counts[i] == 1, "task \(i) of \(tasks) on \(threads) threads") }
        counts.deallocate()
      }
    }
  }

  @Test func manyShortJobsInARow() {
    // Stresses the ticket protocol: late workers of one job must never run a task of the next.
    let pool = ThreadPool(threads: 2)
    let total = Atomic<Int>(0)
    for job in 0..<5000 {
      let tasks = 1 + job % 5
      let seen = Atomic<Int>(0)
      pool.parallelFor(tasks) { t in
        seen.add(1 << (t * 8), ordering: .relaxed)
        total.add(1, ordering: .relaxed)
      }
      var want = 0
      for t in 0..<tasks { want += 1 << (t * 8) }
      #expect(seen.load(ordering: .relaxed) == want, "job \(job)")
    }
    #expect(total.load(ordering: .relaxed) == (0..<5000).reduce(0) { $0 + 1 + $1 % 5 })
  }

  @Test func concurrentCallersAndNestedJobsFallBackToSerial() async {
    let pool = ThreadPool(threads: 2)
    await withTaskGroup(of: Int.self) { group in
      for _ in 0..<4 {
        group.addTask {
          let sum = Atomic<Int>(0)
          for _ in 0..<200 {
            pool.parallelFor(8) { t in
              // A task that starts another job on the same pool: it finds the pool busy and runs inline.
              pool.parallelFor(3) { u in sum.add(t * 10 + u, ordering: .relaxed) }
            }
          }
          return sum.load(ordering: .relaxed)
        }
      }
      var results: [Int] = []
      for await r in group { results.append(r) }
      let once = (0..<8).reduce(0) { acc, t in acc + (0..<3).reduce(0) { $0 + t * 10 + $1 } }
      #expect(results == [Int](repeating: 200 * once, count: 4))
    }
  }

  @Test func parallelRangesCoverEverythingOnce() {
    let pool = ThreadPool(threads: 3)
    for count in [0, 1, 5, 13, 100, 1001] {
      let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
      hits.initialize(repeating: 0, count: max(count, 1))
      let p = SendablePointer(hits)
      pool.parallelRanges(count, minChunk: 2) { r in for i in r { p.p[i] += 1 } }
      for i in 0..<count { #expect(hits[i] == 1, "index \(i) of \(count)") }
      hits.deallocate()
    }
  }

  @Test func poolsCanBeReplacedAndReleased() {
    for threads in [1, 3, 2] {
      ThreadPool.setThreadCount(threads)
      #expect(ThreadPool.shared.threadCount == threads)
      let sum = Atomic<Int>(0)
      ThreadPool.shared.parallelFor(10) { sum.add($0, ordering: .relaxed) }
      #expect(sum.load(ordering: .relaxed) == 45)
    }
    ThreadPool.setThreadCount(ThreadPool.defaultThreadCount)
  }

  /// The contention guard's mechanism (not its speed): when the worker's tasks take 100 times the caller's, as when
  /// the OS has preempted the worker, jobs run no faster in parallel than serially; after a trial window of them the
  /// pool runs jobs on the caller alone, every task still exactly once.
  @Test func aStragglingWorkerSendsJobsToTheCaller() {
    let pool = ThreadPool(threads: 2)
    let caller = pthread_self()
    func spin(_ ns: UInt64) {
      var start = timespec(), now = timespec()
      clock_gettime(CLOCK_MONOTONIC, &start)
      repeat { clock_gettime(CLOCK_MONOTONIC, &now) } while (now.tv_sec - start.tv_sec) * 1_000_000_000 + (now.tv_nsec - start.tv_nsec) < Int(ns)
    }
    var onWorker = 0
    for job in 0..<200 {
      let worker = Atomic<Int>(0), ran = Atomic<Int>(0)
      pool.parallelFor(4) { _ in
        ran.add(1, ordering: .relaxed)
        if pthread_equal(pthread_self(), caller) != 0 { spin(20_000) } else { worker.add(1, ordering: .relaxed); usleep(2_000) }
      }
      #expect(ran.load(ordering: .relaxed) == 4, "job \(job)")
      // Past the first windows, the last jobs all ran on the caller.
      if job >= 150 { onWorker += worker.load(ordering: .relaxed) }
    }
    #expect(onWorker == 0, "tasks on the worker in the last 50 jobs: \(onWorker)")
  }
}
