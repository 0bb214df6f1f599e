/**
 * Hotvisor's public API: VM exits, exit handlers and VM control.
 *
 * <p>Handlers and devices import this package and export nothing, so replacing one of them
 * never restarts another. Everything here is an interface, an enum or an annotation.
 */
@Export
@Version("1.1.0")
package org.hotvisor.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
