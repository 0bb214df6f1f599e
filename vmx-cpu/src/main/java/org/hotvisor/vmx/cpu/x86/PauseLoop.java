package org.hotvisor.vmx.cpu.x86;

/**
 * PAUSE-loop exiting (SDM 3C 26.1.3 "PAUSE", fields PLE_Gap and PLE_Window of 25.6.13). At CPL 0
 * with "PAUSE exiting" 0 and "PAUSE-loop exiting" 1, a PAUSE more than PLE_Gap TSC ticks after the
 * previous CPL-0 PAUSE (or the first one after VM entry) starts a loop; a PAUSE more than
 * PLE_Window ticks after the start of its loop exits. Time is the core's TSC without the TSC
 * offset, which "runs at the same rate as the TSC" (+1 per retired instruction here).
 */
final class PauseLoop {
    private static final long UNSIGNED_32 = 0xFFFF_FFFFL;

    /** No CPL-0 PAUSE since the last VM entry. */
    private boolean sinceEntry = true;
    private long lastPause, loopStart;

    /** SDM 3C 26.1.3: "the first execution of PAUSE at CPL 0 after VM entry" starts a loop. */
    void vmEntry() {
        sinceEntry = true;
    }

    /**
     * Records a CPL-0 PAUSE at time {@code now}.
     *
     * @return true if it causes a VM exit
     */
    boolean pause(long now, int gap, int window) {
        boolean first = sinceEntry || now - lastPause > (gap & UNSIGNED_32);
        sinceEntry = false;
        lastPause = now;
        if (first) {
            loopStart = now;
            return false;
        }
        return now - loopStart > (window & UNSIGNED_32);
    }
}
