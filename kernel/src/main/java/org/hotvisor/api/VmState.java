package org.hotvisor.api;

/** The life cycle of a VM. */
public enum VmState {
    /** No image loaded. */
    EMPTY,
    /** Image loaded, vCPUs not started yet. */
    LOADED,
    RUNNING,
    PAUSED,
    /** The guest stopped (power-off, triple fault, entry failure, handler fault policy, ...). */
    STOPPED
}
