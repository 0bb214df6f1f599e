package org.hotvisor.launcher;

import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

/**
 * Asks SCR's ServiceComponentRuntime why a bundle's components are not running. The launcher
 * sits outside the framework and has no compile-time view of the DS runtime API, so this reads
 * the DTOs (public fields, OSGi Compendium 112.9) by reflection.
 */
final class ComponentDiagnostics {
    private static final String RUNTIME = "org.osgi.service.component.runtime.ServiceComponentRuntime";
    // ComponentConfigurationDTO states (112.9.3)
    private static final int UNSATISFIED_CONFIGURATION = 1;
    private static final int UNSATISFIED_REFERENCE = 2;
    private static final int FAILED_ACTIVATION = 16;

    private ComponentDiagnostics() {
    }

    /** The first component of {@code bundle} that failed to activate, as one line, or null. */
    static String failedActivation(BundleContext context, Bundle bundle) {
        List<String> failures = problems(context, bundle, true);
        return failures.isEmpty() ? null : failures.getFirst();
    }

    /** Why {@code bundle}'s components are not active, one line; "" if SCR sees nothing wrong. */
    static String explain(BundleContext context, Bundle bundle) {
        if (bundle.getState() != Bundle.ACTIVE) {
            return "bundle " + bundle.getSymbolicName() + " is not active";
        }
        List<String> problems = problems(context, bundle, false);
        return String.join("; ", problems);
    }

    private static List<String> problems(BundleContext context, Bundle bundle, boolean failuresOnly) {
        List<String> problems = new ArrayList<>();
        ServiceReference<?> reference = runtimeReference(context);
        if (reference == null) {
            if (!failuresOnly) {
                problems.add("Declarative Services (SCR) is not running");
            }
            return problems;
        }
        Object runtime = context.getService(reference);
        try {
            Class<?> api = apiInterface(runtime);
            Method descriptions = api.getMethod("getComponentDescriptionDTOs", Bundle[].class);
            Method configurations = null;
            for (Method method : api.getMethods()) {
                if (method.getName().equals("getComponentConfigurationDTOs")) {
                    configurations = method;
                }
            }
            Iterable<?> all = (Iterable<?>) descriptions.invoke(runtime, (Object) new Bundle[] {bundle});
            boolean any = false;
            for (Object description : all) {
                any = true;
                String name = (String) field(description, "name");
                for (Object configuration : (Iterable<?>) configurations.invoke(runtime, description)) {
                    int state = (Integer) field(configuration, "state");
                    if (state == FAILED_ACTIVATION) {
                        problems.add("component " + name + " failed to activate: "
                                + Failures.firstLine((String) field(configuration, "failure")));
                    } else if (!failuresOnly && state == UNSATISFIED_REFERENCE) {
                        problems.add("component " + name + " is waiting for " + unsatisfied(description, configuration));
                    } else if (!failuresOnly && state == UNSATISFIED_CONFIGURATION) {
                        problems.add("component " + name + " is waiting for its configuration");
                    }
                }
                if (!failuresOnly && !((Boolean) field(description, "defaultEnabled"))) {
                    problems.add("component " + name + " is disabled");
                }
            }
            if (!any && !failuresOnly) {
                problems.add("bundle " + bundle.getSymbolicName() + " has no Declarative Services components");
            }
        } catch (ReflectiveOperationException | RuntimeException unexpected) {
            if (!failuresOnly) {
                problems.add("SCR could not be asked (" + Failures.describe(unexpected) + ")");
            }
        } finally {
            context.ungetService(reference);
        }
        return problems;
    }

    /** All references, not only class-compatible ones: the launcher does not share SCR's API classes. */
    private static ServiceReference<?> runtimeReference(BundleContext context) {
        try {
            ServiceReference<?>[] references = context.getAllServiceReferences(RUNTIME, null);
            return references == null ? null : references[0];
        } catch (org.osgi.framework.InvalidSyntaxException impossible) {
            return null;
        }
    }

    /** "VmxProcessor (reference processor)" for each unsatisfied reference. */
    private static String unsatisfied(Object description, Object configuration) throws ReflectiveOperationException {
        List<String> missing = new ArrayList<>();
        Object unsatisfied = field(configuration, "unsatisfiedReferences");
        Object references = field(description, "references");
        for (int i = 0; unsatisfied != null && i < Array.getLength(unsatisfied); i++) {
            String referenceName = (String) field(Array.get(unsatisfied, i), "name");
            String service = referenceName;
            for (int j = 0; references != null && j < Array.getLength(references); j++) {
                Object declared = Array.get(references, j);
                if (referenceName.equals(field(declared, "name"))) {
                    service = (String) field(declared, "interfaceName");
                }
            }
            missing.add(service + " (reference " + referenceName + ")");
        }
        return missing.isEmpty() ? "a service" : String.join(", ", missing);
    }

    private static Class<?> apiInterface(Object runtime) throws ClassNotFoundException {
        for (Class<?> type = runtime.getClass(); type != null; type = type.getSuperclass()) {
            for (Class<?> implemented : type.getInterfaces()) {
                if (implemented.getName().equals(RUNTIME)) {
                    return implemented;
                }
            }
        }
        throw new ClassNotFoundException(RUNTIME);
    }

    private static Object field(Object dto, String name) throws ReflectiveOperationException {
        return dto.getClass().getField(name).get(dto);
    }
}
