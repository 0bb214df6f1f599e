/**
 * A test bench for handler authors: run a guest on the real VMX processor with your handlers,
 * in plain JUnit, without starting Felix. Needs the vmx-cpu jar on the class or module path
 * (found through {@link java.util.ServiceLoader}).
 */
@Export
@Version("1.0.0")
package org.hotvisor.harness;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
