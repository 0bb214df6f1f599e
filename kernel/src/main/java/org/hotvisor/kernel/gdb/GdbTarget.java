package org.hotvisor.kernel.gdb;

/**
 * What the gdbstub debugs: the VM's bootstrap vCPU and its memory. {@link MachineTarget} is the
 * real one; tests use a fake. Register numbers follow gdb's i386 layout ({@link #REGISTER_NAMES}).
 */
interface GdbTarget {
    /** gdb's i386 core registers, in 'g' packet order (gdb/features/i386/32bit-core.xml). */
    String[] REGISTER_NAMES = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags",
        "cs", "ss", "ds", "es", "fs", "gs"};
    int CORE_REGISTERS = REGISTER_NAMES.length;

    /** A failure gdb sees as an error reply "Enn" (errno-style). */
    final class TargetException extends Exception {
        private static final long serialVersionUID = 1;
        final int errno;

        TargetException(int errno, String message) {
            super(message);
            this.errno = errno;
        }
    }

    /** errno values for E replies. */
    int EFAULT = 14, EINVAL = 22, EIO = 5;

    /** Why the target stopped: a signal (stop reply T), or it exited (W). */
    record Stop(boolean exited, int signal, boolean softwareBreakpoint, int exitStatus) {
        static final int SIGINT = 2, SIGTRAP = 5;

        static Stop signal(int signal) {
            return new Stop(false, signal, false, 0);
        }

        static Stop breakpoint() {
            return new Stop(false, SIGTRAP, true, 0);
        }

        static Stop exit(int status) {
            return new Stop(true, 0, false, status);
        }
    }

    /** Stops the target if it runs and makes sure it has processor state (gdb just attached). */
    void attach() throws TargetException;

    /** The 16 core registers, 32 bits each. */
    long[] readRegisters() throws TargetException;

    void writeRegister(int index, long value) throws TargetException;

    /** Reads linear memory; fewer bytes than asked when a page is not mapped, none: TargetException. */
    byte[] readMemory(long address, int length) throws TargetException;

    void writeMemory(long address, byte[] data) throws TargetException;

    void insertBreakpoint(long address) throws TargetException;

    void removeBreakpoint(long address) throws TargetException;

    /** Continues; the stop comes from {@link #awaitStop()}. */
    void resume() throws TargetException;

    /** Executes one instruction; the stop comes from {@link #awaitStop()}. */
    void step() throws TargetException;

    /** Ctrl-C: stops a running target. */
    void interrupt();

    /** Blocks until the target stopped after {@link #resume()} or {@link #step()}. */
    Stop awaitStop() throws InterruptedException;

    /** The stop to report for '?'. */
    Stop currentStop();

    /** gdb detached (or went away): its breakpoints go, the target runs on. */
    void detach();

    /** gdb's kill. */
    void kill();
}
