// Open MPI for Swift: <mpi.h>, plus functions for the handles and constants mpi.h defines as macros
// (MPI_COMM_WORLD is `&ompi_mpi_comm_world`, MPI_BYTE `&ompi_mpi_byte`, ...), which the importer cannot see.
#include <mpi.h>

static inline MPI_Comm memplan_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype memplan_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype memplan_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype memplan_mpi_long(void) { return MPI_LONG; }
static inline MPI_Op memplan_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op memplan_mpi_max(void) { return MPI_MAX; }
static inline MPI_Status *memplan_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline int memplan_mpi_success(void) { return MPI_SUCCESS; }
static inline int memplan_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline MPI_Datatype memplan_mpi_int(void) { return MPI_INT; }
static inline MPI_Errhandler memplan_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
