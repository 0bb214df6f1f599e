package org.hotvisor.api;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.osgi.service.component.annotations.ComponentPropertyType;

/**
 * Declares the exit reasons a Declarative Services component handles. It is a component property
 * type: it becomes the service property {@code hotvisor.exit.reason}.
 *
 * <pre>
 * &#64;Component(service = ExitHandler.class)
 * &#64;HandlesExit(reason = ExitReason.CPUID)
 * public class MyCpuid implements ExitHandler { ... }
 * </pre>
 */
@ComponentPropertyType
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.TYPE)
public @interface HandlesExit {
    /** Prefix that turns the element {@code reason} into the property {@code hotvisor.exit.reason}. */
    String PREFIX_ = "hotvisor.exit.";

    /** The exit reasons handled. */
    ExitReason[] reason();
}
