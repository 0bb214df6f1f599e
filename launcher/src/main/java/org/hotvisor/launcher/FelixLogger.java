package org.hotvisor.launcher;

import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the framework's own log to slf4j (stderr) instead of Felix's default System.out, where
 * it would mix with guest output. Stack traces only at debug level: the launcher reports
 * failures itself in one line.
 */
final class FelixLogger extends org.apache.felix.framework.Logger {
    private static final Logger LOG = LoggerFactory.getLogger("org.apache.felix.framework");

    @Override
    @SuppressWarnings("rawtypes") // the signature Felix declares
    protected void doLog(Bundle bundle, ServiceReference sr, int level, String message, Throwable throwable) {
        String text = (bundle == null ? "" : "[" + bundle.getSymbolicName() + "] ") + message
                + (throwable == null || LOG.isDebugEnabled() ? "" : ": " + Failures.oneLine(throwable));
        Throwable trace = LOG.isDebugEnabled() ? throwable : null;
        switch (level) {
            case LOG_ERROR -> LOG.error(text, trace);
            case LOG_WARNING -> LOG.warn(text, trace);
            case LOG_INFO -> LOG.info(text, trace);
            default -> LOG.debug(text, trace);
        }
    }
}
