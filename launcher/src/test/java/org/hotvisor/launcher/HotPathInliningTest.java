package org.hotvisor.launcher;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.MethodModel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The methods on the path of every VM exit stay small enough for C2 to inline them: a hot method
 * is inlined only up to 325 bytes of bytecode (HotSpot's FreqInlineSize), and a method left as a
 * call spills every live register, on every exit (benchmarks/README.md, 2026-11-25). A change that
 * pushes one over the limit fails here, before a benchmark would show it; move its rare case into
 * a method of its own. (The bundles are the launcher's dependencies, so their classes are here.)
 */
class HotPathInliningTest {

    /** HotSpot's default -XX:FreqInlineSize on x86-64. */
    private static final int C2_HOT_INLINE_LIMIT = 325;

    @ParameterizedTest
    @CsvSource({
        "org.hotvisor.kernel.vm.VirtualCpu, exitThenPrepare",
        "org.hotvisor.kernel.vm.VirtualCpu, handleExit",
        "org.hotvisor.kernel.vm.VirtualCpu, dispatch",
        "org.hotvisor.kernel.vm.VirtualCpu, prepareEntry",
        "org.hotvisor.kernel.vm.ExitView, load",
        "org.hotvisor.kernel.vm.ExitView, commit",
        "org.hotvisor.kernel.vm.VirtualClockImpl, runDue",
        "org.hotvisor.vmx.cpu.vmx.VmxLogicalProcessor, enter",
        "org.hotvisor.vmx.cpu.vmx.VmxLogicalProcessor, vmExit",
        "org.hotvisor.vmx.cpu.vmx.VmxLogicalProcessor, load",
        "org.hotvisor.vmx.cpu.vmx.VmxLogicalProcessor, vmread",
        "org.hotvisor.vmx.cpu.vmx.VmxLogicalProcessor, vmwrite",
        "org.hotvisor.vmx.cpu.x86.X86Core, run",
        "org.hotvisor.vmx.cpu.x86.X86Core, runLoop",
        "org.hotvisor.vmx.cpu.x86.X86Core, runChain",
        "org.hotvisor.vmx.cpu.x86.X86Core, runCompiled",
    })
    void exitPathMethodFitsC2sInliningLimit(String className, String method) throws IOException {
        List<Integer> sizes = bytecodeSizes(className, method);
        assertTrue(!sizes.isEmpty(), className + " has no method " + method);
        for (int size : sizes) {
            assertTrue(size <= C2_HOT_INLINE_LIMIT, className + "." + method + " is " + size
                    + " bytes of bytecode, over C2's " + C2_HOT_INLINE_LIMIT + "-byte limit for inlining a hot"
                    + " method: move its rare cases into methods of their own");
        }
    }

    /** The code length of each method named {@code method} in the class (overloads included). */
    private static List<Integer> bytecodeSizes(String className, String method) throws IOException {
        String resource = className.replace('.', '/') + ".class";
        try (InputStream in = HotPathInliningTest.class.getClassLoader().getResourceAsStream(resource)) {
            assertNotNull(in, resource + " is not on the test class path");
            ClassModel model = ClassFile.of().parse(in.readAllBytes());
            List<Integer> sizes = new ArrayList<>();
            for (MethodModel m : model.methods()) {
                if (m.methodName().equalsString(method)) {
                    m.findAttribute(Attributes.code()).ifPresent(code -> sizes.add(code.codeLength()));
                }
            }
            return sizes;
        }
    }
}
