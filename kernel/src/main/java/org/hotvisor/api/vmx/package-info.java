/**
 * The VT-x processor as the kernel drives it: the VMX instructions (VMXON ... VMXOFF), VMCS
 * field encodings (SDM Vol. 3D Appendix B), VM-instruction error numbers (SDM 3C 31.4) and the
 * VM-execution, VM-exit and VM-entry control bits (SDM 3C 25.6-25.8), each a named type.
 */
@Export
@Version("1.1.0")
package org.hotvisor.api.vmx;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
