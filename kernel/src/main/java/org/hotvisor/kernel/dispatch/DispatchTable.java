package org.hotvisor.kernel.dispatch;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.hotvisor.api.ExitReason;

/**
 * An immutable snapshot: for each basic exit reason, its handlers from the highest ranking down.
 * The dispatcher swaps whole tables atomically, so an exit reads one table from start to end
 * without a lock and never sees a half-made change.
 */
public final class DispatchTable {
    private static final HandlerEntry[] NONE = new HandlerEntry[0];

    public static final DispatchTable EMPTY = new DispatchTable(new HandlerEntry[ExitReason.TABLE_SIZE][]);

    private final HandlerEntry[][] byReason;

    private DispatchTable(HandlerEntry[][] byReason) {
        this.byReason = byReason;
        for (int i = 0; i < byReason.length; i++) {
            if (byReason[i] == null) {
                byReason[i] = NONE;
            }
        }
    }

    /** The handlers for a basic reason, highest ranking first; empty for none. Never allocates. */
    public HandlerEntry[] handlers(int basicReason) {
        return basicReason >= 0 && basicReason < byReason.length ? byReason[basicReason] : NONE;
    }

    /** Builds a table from (reason, entry) registrations. Ties in ranking go to the lower service id (the OSGi rule). */
    public static DispatchTable of(List<Registration> registrations) {
        List<List<HandlerEntry>> lists = new ArrayList<>();
        for (int i = 0; i < ExitReason.TABLE_SIZE; i++) {
            lists.add(new ArrayList<>());
        }
        for (Registration r : registrations) {
            for (ExitReason reason : r.reasons()) {
                lists.get(reason.number()).add(r.entry());
            }
        }
        HandlerEntry[][] table = new HandlerEntry[ExitReason.TABLE_SIZE][];
        Comparator<HandlerEntry> order = Comparator.comparingInt(HandlerEntry::ranking).reversed()
                .thenComparingLong(HandlerEntry::serviceId);
        for (int i = 0; i < table.length; i++) {
            List<HandlerEntry> l = lists.get(i);
            l.sort(order);
            table[i] = l.toArray(NONE);
        }
        return new DispatchTable(table);
    }

    /** One handler service and the reasons it declared. */
    public record Registration(HandlerEntry entry, List<ExitReason> reasons) {}
}
