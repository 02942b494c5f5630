/*
 * first-call.so: which functions of an executable run, in the order they first run. A profiling aid for
 * tools/package/order/profile.sh; never shipped.
 *
 * Why hand-written: the method order file that Native AOT's compiler reads (IlcOrderFile, symbol names one per line)
 * has no producer in the .NET SDK. dotnet-pgo writes MIBC (IL methods, from a JIT trace) and is not served here; the
 * compiler's reachability instrumentation records IL methods, not the compiled symbols (stubs, instantiations,
 * unboxing thunks), and sampling profilers miss the many functions that run once at start-up. An int3 at each
 * function's entry records every function exactly once, at its first call.
 *
 * Use: LD_PRELOAD=first-call.so FIRST_CALL_EXE=<absolute path of the executable> FIRST_CALL_ADDRS=<file: one hex
 * virtual address per line, ascending> FIRST_CALL_OUT=<file> <the executable> ...
 * FIRST_CALL_OUT receives, per function at its first call, its index in FIRST_CALL_ADDRS (4 bytes, little endian).
 * The program's own SIGTRAP handler (if it installs one) is kept for traps that are not ours.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

typedef int (*sigaction_fn)(int, const struct sigaction*, struct sigaction*);

static unsigned long load_base;
static unsigned long* addresses;
static unsigned char* original_bytes;
static long address_count;
static int out_fd = -1;
static struct sigaction program_handler;
static int program_has_handler;
static sigaction_fn real_sigaction;

static long find_address(unsigned long address) {
  long lo = 0, hi = address_count - 1;
  while (lo <= hi) {
    long mid = lo + (hi - lo) / 2;
    if (addresses[mid] == address) return mid;
    if (addresses[mid] < address) lo = mid + 1; else hi = mid - 1;
  }
  return -1;
}

static void on_trap(int sig, siginfo_t* info, void* context) {
  ucontext_t* uc = context;
  unsigned long ip = (unsigned long)uc->uc_mcontext.gregs[REG_RIP] - 1;
  long index = ip >= load_base ? find_address(ip - load_base) : -1;
  if (index >= 0) {
    volatile unsigned char* entry = (volatile unsigned char*)ip;
    if (*entry == 0xCC && original_bytes[index] != 0xCC) {
      *entry = original_bytes[index];
      int value = (int)index;
      if (write(out_fd, &value, sizeof value) != sizeof value) { /* a lost record only shortens the profile */ }
    }
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)ip;  /* run the restored instruction */
    return;
  }
  if (program_has_handler && (program_handler.sa_flags & SA_SIGINFO)) { program_handler.sa_sigaction(sig, info, context); return; }
  if (program_has_handler && program_handler.sa_handler != SIG_DFL && program_handler.sa_handler != SIG_IGN) { program_handler.sa_handler(sig); return; }
  /* A trap that is neither ours nor the program's: stop here, loudly, rather than resume past it. */
  static const char message[] = "first-call: a SIGTRAP not at a recorded function entry; stopping\n";
  if (write(STDERR_FILENO, message, sizeof message - 1) < 0) { /* nothing more to do */ }
  _exit(134);
}

/* The program may install a SIGTRAP handler after us: keep ours in place and remember the program's. */
int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  if (!real_sigaction) real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
  if (sig == SIGTRAP && address_count > 0) {
    if (old) { if (program_has_handler) *old = program_handler; else memset(old, 0, sizeof *old); }
    if (act) { program_handler = *act; program_has_handler = 1; }
    return 0;
  }
  return real_sigaction(sig, act, old);
}

__attribute__((constructor)) static void first_call_start(void) {
  const char* exe = getenv("FIRST_CALL_EXE");
  const char* list = getenv("FIRST_CALL_ADDRS");
  const char* out = getenv("FIRST_CALL_OUT");
  if (!exe || !list || !out) return;
  unsetenv("LD_PRELOAD"); /* the profiled program only: not the commands it runs */
  real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");

  unsigned long text_lo[8], text_hi[8];
  int text_count = 0;
  FILE* maps = fopen("/proc/self/maps", "r");
  char line[4096];
  while (maps && fgets(line, sizeof line, maps)) {
    unsigned long lo, hi, offset;
    char perms[8], path[3000] = {0};
    if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %2999s", &lo, &hi, perms, &offset, path) < 4 || strcmp(path, exe) != 0) continue;
    if (offset == 0 && !load_base) load_base = lo;
    if (perms[2] == 'x' && text_count < 8) { text_lo[text_count] = lo; text_hi[text_count] = hi; text_count++; }
  }
  if (maps) fclose(maps);

  FILE* in = fopen(list, "r");
  long capacity = 1 << 20;
  addresses = malloc(capacity * sizeof *addresses);
  while (in && address_count < capacity && fscanf(in, "%lx", &addresses[address_count]) == 1) address_count++;
  if (in) fclose(in);
  if (!load_base || text_count == 0 || address_count == 0) { address_count = 0; fprintf(stderr, "first-call: %s not mapped or no addresses\n", exe); return; }

  original_bytes = malloc(address_count);
  out_fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  for (int i = 0; i < text_count; i++) mprotect((void*)text_lo[i], text_hi[i] - text_lo[i], PROT_READ | PROT_WRITE | PROT_EXEC);
  for (long i = 0; i < address_count; i++) {
    unsigned char* entry = (unsigned char*)(load_base + addresses[i]);
    original_bytes[i] = *entry;
    if (*entry != 0xCC) *entry = 0xCC;  /* an entry that is an int3 already is left alone: it is never recorded */
  }
  struct sigaction trap = {0};
  trap.sa_sigaction = on_trap;
  trap.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&trap.sa_mask);
  real_sigaction(SIGTRAP, &trap, NULL);
}
