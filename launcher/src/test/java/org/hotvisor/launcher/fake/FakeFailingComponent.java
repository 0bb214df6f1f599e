package org.hotvisor.launcher.fake;

/** A Declarative Services component (described in XML by the test) whose activation fails. */
public final class FakeFailingComponent {
    public void activate() {
        throw new IllegalStateException("no VMX processor here");
    }
}
