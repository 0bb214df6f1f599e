package org.hotvisor.device.testkit;

import org.hotvisor.api.device.InterruptLines;

/** Interrupt lines that remember each line's level and count its rising edges. */
public final class RecordingLines implements InterruptLines {
    private final boolean[] level = new boolean[16];
    private final int[] risingEdges = new int[16];

    @Override
    public synchronized void setLevel(int irq, boolean high) {
        if (high && !level[irq]) {
            risingEdges[irq]++;
        }
        level[irq] = high;
    }

    public synchronized boolean high(int irq) {
        return level[irq];
    }

    public synchronized int risingEdges(int irq) {
        return risingEdges[irq];
    }
}
