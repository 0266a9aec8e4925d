// A small persistent thread pool for the engine's kernels: `parallelFor(tasks) { task in ... }` runs task indices
// 0..<tasks on the calling thread plus the pool's workers and returns when all are done.
//
// Why not Dispatch (measured; see ViTEngine.docc/Engine.md): `concurrentPerform` often runs both halves on the calling
// thread when each half is shorter than about 0.5 ms, so the per-head attention matmuls gained nothing. These workers
// spin 1 ms on an atomic generation counter before sleeping on a condition variable, so the many short jobs of a
// forward pass (a few hundred per image) start within a microsecond.
//
// Protocol (one job at a time, guarded by `busy`; a caller that finds the pool busy, e.g. eval's own worker threads,
// just runs its tasks serially, which is also the right thing when the cores are already taken):
//   The job is published as one 64-bit atomic ticket: generation (24 bits) | task count (20) | next task (20).
//   Anyone (caller or worker) claims a task by compare-exchanging the ticket from (g, n, i) to (g, n, i + 1) with
//   i < n; the body is read only after a successful claim, when job g cannot have finished (a task of it is still
//   unrun), so the caller cannot be rewriting it. A late worker still holding generation g - 1 fails its exchange
//   because the ticket changed. Each finished task bumps `done`; the caller, after claiming what it can, waits only
//   for `done == n`, never for workers that did not take part. So a worker that the OS has descheduled (a busy
//   machine: other processes' autogroups share the cores) costs nothing: the caller runs its tasks itself.
// Workers poll the ticket's generation for 1 ms after a job, then sleep on a condition variable. The spin is timed,
// not counted: 20,000 polls were meant as 0.2 ms but last about 30 µs on a current core, shorter than the gaps between
// some jobs of a DeiT-S block, and waking the sleeping worker cost 0.8 ms per forward pass (3%).
//
// Politeness on a loaded machine (another process busy on a core), where 2 threads had been slower than 1:
//   - a worker that claimed a task and was then preempted held the job up for a time slice (milliseconds) while the
//     caller spun on `done`, keeping its own core busy;
//   - the workers' 1 ms spin between jobs took time from the other process even when the second thread gained nothing.
// So the caller polls `done` for 100 µs (a task or two on a quiet machine), then sleeps on a second condition variable
// that the worker finishing the last task signals. And every job measures itself: its wall time against the serial
// time it would have taken (the caller's CPU time per task, times the task count). CPU time, not wall time: when the
// caller itself shares its core with the busy process, its tasks' wall time counts the other process's slices, the
// estimate came out too high, parallel jobs looked faster than serial, and 2 threads stayed 1.3x slower than 1.
// When a window of 32 jobs ran no faster in parallel than serially, jobs run on the caller alone for a while (20 ms,
// doubling up to 1 s while each new trial window still loses, back to 20 ms once one wins); meanwhile the workers'
// spin runs out and they sleep.
// On a quiet machine a job with real work takes about half its serial time, far from the threshold.
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public final class ThreadPool: @unchecked Sendable {
  /// Threads taking part in a job, the caller included.
  public let threadCount: Int
  private let workers: Int
  private let ticket = Atomic<Int>(0)
  private let done = Atomic<Int>(0)
  private let busy = Atomic<Bool>(false)
  private let sleepers = Atomic<Int>(0)
  private let stopping = Atomic<Bool>(false)
  /// The caller sleeps on `doneCond` (under `mutex`) while this is true.
  private let callerWaiting = Atomic<Bool>(false)
  /// Until this time (CLOCK_MONOTONIC ns), jobs run on the caller alone (see the header).
  private let serialUntil = Atomic<Int>(0)
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private let cond: UnsafeMutablePointer<pthread_cond_t>
  private let doneCond: UnsafeMutablePointer<pthread_cond_t>
  private var threads: [pthread_t] = []
  /// The current job's body; written by the caller only while no claim on it can succeed (see above).
  private var body: ((Int) -> Void)?
  private var generation = 0
  /// The current trial window (read and written only by the caller holding `busy`): jobs, their wall time and their
  /// estimated serial time, in ns; and how long the next serial period lasts.
  private var windowJobs = 0, windowWall = 0, windowSerial = 0
  private var backoff = ThreadPool.initialBackoff

  private static let countBits = 20, indexBits = 20
  private static let fieldMask = (1 << 20) - 1
  /// How long a worker polls the ticket after its last job before it sleeps.
  private static let spinNanoseconds: UInt64 = 1_000_000
  /// How long the caller polls `done` before it sleeps.
  private static let callerSpinNanoseconds: UInt64 = 100_000
  private static let windowSize = 32
  private static let initialBackoff = 20_000_000, maxBackoff = 1_000_000_000

  @inline(__always) private static func nanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
  }

  /// CPU time of the calling thread: what its tasks cost, without the time the OS gave its core to someone else.
  private static func threadCPUNanoseconds() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return ts.tv_sec &* 1_000_000_000 &+ ts.tv_nsec
  }

  @inline(__always) private static func gen(_ t: Int) -> Int { t >> (countBits + indexBits) }
  @inline(__always) private static func count(_ t: Int) -> Int { (t >> indexBits) & fieldMask }
  @inline(__always) private static func index(_ t: Int) -> Int { t & fieldMask }

  public init(threads: Int) {
    threadCount = Swift.max(1, threads)
    workers = threadCount - 1
    mutex = .allocate(capacity: 1)
    cond = .allocate(capacity: 1)
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(cond, nil)
    doneCond = .allocate(capacity: 1)
    pthread_cond_init(doneCond, nil)
    for w in 0..<workers {
      let context = Unmanaged.passRetained(WorkerContext(pool: self, index: w)).toOpaque()
      #if canImport(Glibc)
      var thread = pthread_t()
      #else
      var thread: pthread_t? = nil
      #endif
      let rc = pthread_create(&thread, nil, { raw in
        let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
        context.pool.workerLoop()
        return nil
      }, context)
      precondition(rc == 0, "ThreadPool: pthread_create failed (\(rc))")
      #if canImport(Glibc)
      self.threads.append(thread)
      #else
      self.threads.append(thread!)
      #endif
    }
  }

  deinit {
    stopping.store(true, ordering: .sequentiallyConsistent)
    ticket.add(1 << (ThreadPool.countBits + ThreadPool.indexBits), ordering: .sequentiallyConsistent)
    pthread_mutex_lock(mutex)
    pthread_cond_broadcast(cond)
    pthread_mutex_unlock(mutex)
    for t in threads { pthread_join(t, nil) }
    pthread_mutex_destroy(mutex)
    pthread_cond_destroy(cond)
    pthread_cond_destroy(doneCond)
    mutex.deallocate()
    cond.deallocate()
    doneCond.deallocate()
  }

  /// Workers hold the pool strongly only through this box, released when the loop ends.
  private final class WorkerContext {
    unowned(unsafe) let pool: ThreadPool
    let index: Int
    init(pool: ThreadPool, index: Int) { self.pool = pool; self.index = index }
  }

  /// Runs body(0..<tasks), spread over the pool. Returns when every task has run.
  public func parallelFor(_ tasks: Int, _ body: (Int) -> Void) {
    if tasks <= 0 { return }
    if tasks == 1 || workers == 0 || tasks > ThreadPool.fieldMask {
      for t in 0..<tasks { body(t) }
      return
    }
    let start = Int(ThreadPool.nanoseconds())
    if start < serialUntil.load(ordering: .relaxed)
      || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    {
      for t in 0..<tasks { body(t) }
      return
    }
    withoutActuallyEscaping(body) { escaping in
      self.body = escaping
      done.store(0, ordering: .relaxed)
      generation = (generation &+ 1) & ((1 << 23) - 1)
      let t = (generation << (ThreadPool.countBits + ThreadPool.indexBits)) | (tasks << ThreadPool.indexBits)
      ticket.store(t, ordering: .sequentiallyConsistent)  // publishes body and done = 0 with it
      if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
      }
      let cpuStart = ThreadPool.threadCPUNanoseconds()
      let mine = runTasks(generation: generation)
      let ownEnd = Int(ThreadPool.nanoseconds())
      let ownCPU = ThreadPool.threadCPUNanoseconds() - cpuStart
      waitUntilDone(tasks, since: UInt64(ownEnd))
      self.body = nil
      assess(wall: Int(ThreadPool.nanoseconds()) - start, own: ownCPU, mine: mine, tasks: tasks)
    }
    busy.store(false, ordering: .releasing)
  }

  /// Polls `done` for a short while, then sleeps until the worker that finishes the last task signals.
  private func waitUntilDone(_ tasks: Int, since: UInt64) {
    var spins = 0
    while done.load(ordering: .acquiring) != tasks {
      spins &+= 1
      if spins & 63 == 0, ThreadPool.nanoseconds() &- since > ThreadPool.callerSpinNanoseconds {
        pthread_mutex_lock(mutex)
        // Dekker pairing with runTasks: the flag is stored before `done` is read again, and a worker stores `done`
        // before it reads the flag, so one of the two sees the other.
        callerWaiting.store(true, ordering: .sequentiallyConsistent)
        while done.load(ordering: .sequentiallyConsistent) != tasks { pthread_cond_wait(doneCond, mutex) }
        callerWaiting.store(false, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
        return
      }
    }
  }

  /// Adds a finished job to the trial window; when the window is full and its jobs ran no faster than serially
  /// (within 5%), the next jobs run on the caller alone for `backoff` (see the header).
  private func assess(wall: Int, own: Int, mine: Int, tasks: Int) {
    guard mine > 0 else { return }  // the workers took every task: no serial estimate, and no sign of trouble
    windowJobs += 1
    windowWall += wall
    windowSerial += own / mine * tasks
    guard windowJobs == ThreadPool.windowSize else { return }
    if windowWall * 20 >= windowSerial * 19 {
      serialUntil.store(Int(ThreadPool.nanoseconds()) + backoff, ordering: .relaxed)
      backoff = Swift.min(backoff * 2, ThreadPool.maxBackoff)
    } else {
      backoff = ThreadPool.initialBackoff
    }
    windowJobs = 0; windowWall = 0; windowSerial = 0
  }

  /// Splits 0..<count into about `chunksPerThread * threadCount` contiguous ranges of at least `minChunk` and runs them.
  public func parallelRanges(_ count: Int, minChunk: Int = 1, chunksPerThread: Int = 4, _ body: (Range<Int>) -> Void) {
    if count <= 0 { return }
    let chunks = Swift.max(1, Swift.min(threadCount * chunksPerThread, count / Swift.max(minChunk, 1)))
    if chunks == 1 { body(0..<count); return }
    parallelFor(chunks) { c in
      let lo = count * c / chunks, hi = count * (c + 1) / chunks
      if lo < hi { body(lo..<hi) }
    }
  }

  /// Claims and runs tasks of job `generation` until none are left; returns how many it ran.
  @inline(__always) @discardableResult
  private func runTasks(generation g: Int) -> Int {
    var ran = 0
    var t = ticket.load(ordering: .acquiring)
    while ThreadPool.gen(t) == g && ThreadPool.index(t) < ThreadPool.count(t) {
      let (exchanged, original) = ticket.compareExchange(expected: t, desired: t &+ 1, ordering: .acquiringAndReleasing)
      if exchanged {
        body!(ThreadPool.index(t))
        ran &+= 1
        let count = ThreadPool.count(t)
        if done.add(1, ordering: .sequentiallyConsistent).newValue == count && callerWaiting.load(ordering: .sequentiallyConsistent) {
          // The last task: wake the caller if it went to sleep (under the mutex, so it cannot miss the signal
          // between its check of `done` and its wait).
          pthread_mutex_lock(mutex)
          pthread_cond_signal(doneCond)
          pthread_mutex_unlock(mutex)
        }
        t = ticket.load(ordering: .acquiring)
      } else {
        t = original
      }
    }
    return ran
  }

  private func workerLoop() {
    // Generation 0 is the state at construction; a worker that starts late must not take a later generation (or the
    // stop signal) for its starting point, so it does not read the ticket here.
    var seen = 0
    while true {
      if stopping.load(ordering: .acquiring) { return }
      var t = ticket.load(ordering: .acquiring)
      var spins = 0
      var spinStart: UInt64 = 0
      while ThreadPool.gen(t) == seen {
        spins &+= 1
        // The clock is read every 256 polls only (a clock_gettime costs about 20 ns).
        if spins & 255 == 0, spinStart == 0 { spinStart = ThreadPool.nanoseconds() }
        if spins & 255 == 0, ThreadPool.nanoseconds() &- spinStart > ThreadPool.spinNanoseconds {
          pthread_mutex_lock(mutex)
          sleepers.add(1, ordering: .sequentiallyConsistent)
          while ThreadPool.gen(ticket.load(ordering: .sequentiallyConsistent)) == seen
            && !stopping.load(ordering: .sequentiallyConsistent)
          {
            pthread_cond_wait(cond, mutex)
          }
          sleepers.subtract(1, ordering: .sequentiallyConsistent)
          pthread_mutex_unlock(mutex)
          if stopping.load(ordering: .acquiring) { return }
          spins = 0
          spinStart = 0
        }
        t = ticket.load(ordering: .acquiring)
      }
      if stopping.load(ordering: .sequentiallyConsistent) { return }
      seen = ThreadPool.gen(t)
      runTasks(generation: seen)
    }
  }

  // MARK: The engine's pool

  /// A pthread mutex rather than Synchronization's Mutex: ThreadSanitizer sees pthread locks, but not the futex calls
  /// behind Mutex, and reported the pool's publication through it as a race (`swift test --sanitize=thread`).
  private static let sharedPool = PThreadLocked<ThreadPool?>(nil)

  /// Online CPUs, or TOKENSCOPE_THREADS when set.
  public static var defaultThreadCount: Int {
    if let env = getenv("TOKENSCOPE_THREADS"), let n = Int(String(cString: env)), n > 0 { return n }
    return Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
  }

  /// The pool the engine's kernels use (created on first use with `defaultThreadCount` threads).
  public static var shared: ThreadPool {
    sharedPool.withLock { pool in
      if let pool { return pool }
      let made = ThreadPool(threads: defaultThreadCount)
      pool = made
      return made
    }
  }

  /// Sets the engine's thread count (1: everything on the calling thread). Jobs already running finish on the old pool.
  public static func setThreadCount(_ threads: Int) {
    let old = sharedPool.withLock { pool -> ThreadPool? in
      let old = pool
      pool = ThreadPool(threads: threads)
      return old
    }
    _ = old  // released here, outside the lock: its deinit joins the workers once no job holds it
  }
}

/// A value behind a pthread mutex.
final class PThreadLocked<Value>: @unchecked Sendable {
  private var value: Value
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>

  init(_ value: Value) {
    self.value = value
    mutex = .allocate(capacity: 1)
    pthread_mutex_init(mutex, nil)
  }

  func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body(&value)
  }
}

/// Raw pointers made Sendable for the pool's closures (Swift 6 checks captures; the pool's join orders every access).
public struct SendablePointer<T>: @unchecked Sendable {
  public let p: UnsafeMutablePointer<T>
  public init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}

/// Heap tuning for the forward pass (glibc only). Every op returns a fresh [Float] of up to a few MB; by default glibc
/// serves those with mmap or trims them back to the OS on free, so each run faulted in about 26 MB of fresh zero pages
/// again (6,700 page faults per DeiT-S forward, several ms). Keeping such blocks on the heap lets them be reused.
/// Peak RSS is unchanged (the same blocks are live at the peak); memory freed after a pass stays with the process.
enum EngineMemory {
  static let configured: Bool = {
    #if os(Linux) && canImport(Glibc)
    // <malloc.h> is not part of the Glibc module: M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3.
    _ = glibcMallopt(-3, 64 << 20)
    _ = glibcMallopt(-1, 256 << 20)
    #endif
    return true
  }()
}

#if os(Linux) && canImport(Glibc)
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
