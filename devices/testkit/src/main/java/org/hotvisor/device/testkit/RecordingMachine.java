package org.hotvisor.device.testkit;

import java.util.ArrayList;
import java.util.List;
import org.hotvisor.api.device.MachineControl;

/** A machine that records what the devices asked of it. */
public final class RecordingMachine implements MachineControl {
    public final List<String> events = new ArrayList<>();
    public int status = -1;
    public boolean a20 = true;

    @Override
    public void powerOff(int status, String reason) {
        this.status = status;
        events.add("powerOff " + status + " " + reason);
    }

    @Override
    public void reset(String reason) {
        events.add("reset " + reason);
    }

    @Override
    public void setA20(boolean enabled) {
        a20 = enabled;
        events.add("a20 " + enabled);
    }

    @Override
    public boolean a20() {
        return a20;
    }

    @Override
    public long ramSize() {
        return 32L << 20;
    }
}
