// The only code calling MPI_*: this process's rank in the world mpirun started, point-to-point on arena bytes for the
// step's exchange (`RankLink`), and the few collectives a run needs outside its steps (sums of epoch metrics, the
// per-rank measurements gathered on rank 0).

import MLPTrainer

#if canImport(Glibc)
    import Glibc
#endif
#if MPI
    import CMPI
#endif

/// What went wrong joining or using the MPI world.
public enum MPIRanksError: Error, CustomStringConvertible {
    /// This memplan was built without Open MPI (a static build).
    case unavailable
    /// An MPI call returned an error code.
    case call(function: String, code: Int32)

    public var description: String {
        switch self {
        case .unavailable:
            "this memplan was built without Open MPI (the MPI trait); build it with the default traits to train over ranks"
        case .call(let function, let code): "\(function) failed with MPI error \(code)"
        }
    }
}

/// This process's place among the ranks mpirun started.
public final class MPIWorld: RankLink {
    public let rank: Int
    public let size: Int

    /// Open MPI's free-list sizes memplan sets before MPI_Init unless the environment already does.
    static let preallocatedLists = [
        ("OMPI_MCA_btl_vader_free_list_num", "64"), ("OMPI_MCA_pml_ob1_free_list_num", "64"),
    ]

    /// Whether Open MPI's mpirun started this process: its environment names the world size (memplan links Open MPI,
    /// so its launcher is the one it knows).
    public static var isLaunched: Bool { getenv("OMPI_COMM_WORLD_SIZE") != nil }

    /// The world size mpirun announced in the environment, before `MPI_Init` (nil when not launched).
    public static var announcedSize: Int? {
        guard let text = getenv("OMPI_COMM_WORLD_SIZE") else { return nil }
        return Int(String(cString: text))
    }

    /// This process's rank as mpirun announced it (nil when not launched).
    public static var announcedRank: Int? {
        guard let text = getenv("OMPI_COMM_WORLD_RANK") else { return nil }
        return Int(String(cString: text))
    }

    #if MPI
        /// Joins the world (`MPI_Init_thread`, funneled: only the thread that joined calls MPI).
        ///
        /// - Throws: `MPIRanksError.call` when MPI cannot start.
        public init() throws(MPIRanksError) {
            // Fragments and requests from lists allocated at MPI_Init, large enough that the step never grows them (a
            // list grows by malloc when a fast sender outruns the returns of its fragments; seen on tiny models with the
            // defaults, 8 and 4). The caller's own settings win.
            for (name, value) in Self.preallocatedLists { setenv(name, value, 0) }
            var provided: Int32 = 0
            let code = MPI_Init_thread(nil, nil, memplan_mpi_thread_funneled(), &provided)
            guard code == memplan_mpi_success() else { throw .call(function: "MPI_Init_thread", code: code) }
            var rank: Int32 = 0
            var size: Int32 = 0
            // Failures come back as codes: a rank whose peer died says so in one line (`lost`) instead of Open MPI's abort.
            MPI_Comm_set_errhandler(memplan_mpi_comm_world(), memplan_mpi_errors_return())
            MPI_Comm_rank(memplan_mpi_comm_world(), &rank)
            MPI_Comm_size(memplan_mpi_comm_world(), &size)
            self.rank = Int(rank)
            self.size = Int(size)
        }

        /// Sends and receives at once, in pieces of at most 1 GiB, so that no payload ever arrives before its receive is
        /// posted: each rank posts its receive (`MPI_Irecv`), tells `source` so with an empty message, waits for the same
        /// word from `destination`, then sends (`MPI_Send`) and waits for its own receive. An unexpected payload is what
        /// made Open MPI allocate inside the step (ob1 buffers it with its bucket allocator, about one step in 200 with
        /// `MPI_Sendrecv`); an empty message is only a fragment from its pre-allocated free list.
        public func sendReceive(
            _ send: UnsafeRawPointer, byteCount sendCount: Int, to destination: Int, into receive: UnsafeMutableRawPointer,
            byteCount receiveCount: Int, from source: Int
        ) {
            let (world, byte) = (memplan_mpi_comm_world(), memplan_mpi_byte())
            let (dataTag, readyTag): (Int32, Int32) = (0, 1)
            let piece = 1 << 30
            var offset = 0
            repeat {
                let sending = max(0, min(piece, sendCount - offset))
                let receiving = max(0, min(piece, receiveCount - offset))
                var request: MPI_Request?
                var code = MPI_Irecv(
                    receive + min(offset, receiveCount), Int32(receiving), byte, Int32(source), dataTag, world, &request)
                code |= MPI_Send(nil, 0, byte, Int32(source), readyTag, world)
                code |= MPI_Recv(nil, 0, byte, Int32(destination), readyTag, world, memplan_mpi_status_ignore())
                code |= MPI_Send(send + min(offset, sendCount), Int32(sending), byte, Int32(destination), dataTag, world)
                code |= MPI_Wait(&request, memplan_mpi_status_ignore())
                if code != memplan_mpi_success() { lost(peers: [source, destination], code: code) }
                offset += piece
            } while offset < max(sendCount, receiveCount)
        }

        /// A rank's exchange failed (a peer died or hung up): exit 3, no record; rank 0 says so in one line (the others
        /// exit quietly, so a run prints the failure once). Nothing else can be done: the step cannot finish without the
        /// others.
        func lost(peers: [Int], code: Int32) -> Never {
            if rank == 0 {
                let names = Set(peers).sorted().map { "rank \($0)" }.joined(separator: " or ")
                let line =
                    "memplan: error: the exchange with \(names) failed (MPI error \(code)): a rank of this run stopped; "
                    + "no record is written\n"
                _ = line.withCString { write(2, $0, strlen($0)) }
            }
            exit(3)
        }

        /// Element-wise sums of `values` over all ranks (outside the step: MPI may allocate here).
        public func sum(_ values: [Double]) -> [Double] {
            var input = values
            var output = [Double](repeating: 0, count: values.count)
            let code = MPI_Allreduce(
                &input, &output, Int32(values.count), memplan_mpi_double(), memplan_mpi_sum(), memplan_mpi_comm_world())
            if code != memplan_mpi_success() { lost(peers: Array(0..<size).filter { $0 != rank }, code: code) }
            return output
        }

        /// Every rank's `bytes`, in rank order, on rank 0; nil on the others.
        public func gatherOnRankZero(_ bytes: [UInt8]) -> [[UInt8]]? {
            var length = Int32(bytes.count)
            var lengths = [Int32](repeating: 0, count: size)
            var code = MPI_Gather(&length, 1, memplan_mpi_int(), &lengths, 1, memplan_mpi_int(), 0, memplan_mpi_comm_world())
            var offsets = [Int32](repeating: 0, count: size)
            for index in lengths.indices.dropFirst() { offsets[index] = offsets[index - 1] + lengths[index - 1] }
            let total = rank == 0 ? Int(lengths.reduce(0, +)) : 0
            var all = [UInt8](repeating: 0, count: max(total, 1))
            var sent = bytes.isEmpty ? [0] : bytes
            code |= MPI_Gatherv(
                &sent, length, memplan_mpi_byte(), &all, &lengths, &offsets, memplan_mpi_byte(), 0, memplan_mpi_comm_world())
            if code != memplan_mpi_success() { lost(peers: Array(0..<size).filter { $0 != rank }, code: code) }
            guard rank == 0 else { return nil }
            return lengths.indices.map { Array(all[Int(offsets[$0])..<Int(offsets[$0] + lengths[$0])]) }
        }

        /// Waits for every rank.
        public func barrier() { MPI_Barrier(memplan_mpi_comm_world()) }

        /// Ends every rank of the world with `code` (a rank that cannot go on: the others must not wait forever).
        public func abort(_ code: Int32) -> Never {
            MPI_Abort(memplan_mpi_comm_world(), code)
            exit(code)
        }

        /// Leaves the world; the last MPI call.
        public func finalize() { MPI_Finalize() }
    #else
        public init() throws(MPIRanksError) { throw .unavailable }
        public func sendReceive(
            _ send: UnsafeRawPointer, byteCount sendCount: Int, to destination: Int, into receive: UnsafeMutableRawPointer,
            byteCount receiveCount: Int, from source: Int
        ) { preconditionFailure("MPIWorld: built without MPI") }
        public func sum(_ values: [Double]) -> [Double] { values }
        public func gatherOnRankZero(_ bytes: [UInt8]) -> [[UInt8]]? { [bytes] }
        public func barrier() {}
        public func abort(_ code: Int32) -> Never { exit(code) }
        public func finalize() {}
    #endif
}
