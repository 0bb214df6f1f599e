/**
 * Device contracts: port I/O and MMIO devices, interrupt lines, the virtual clock, the host
 * console and machine control. Devices are whiteboard services; their ranges are service
 * properties, so installing a device bundle maps it and uninstalling it unmaps it.
 */
@Export
@Version("1.1.0")
package org.hotvisor.api.device;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
